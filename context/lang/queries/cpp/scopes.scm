(function_definition body: (compound_statement) @body) @function
(class_specifier body: (field_declaration_list) @body) @function
(struct_specifier body: (field_declaration_list) @body) @function
(namespace_definition body: (declaration_list) @body) @function

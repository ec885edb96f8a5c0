(function_definition body: (compound_statement) @body) @function
(struct_specifier body: (field_declaration_list) @body) @function

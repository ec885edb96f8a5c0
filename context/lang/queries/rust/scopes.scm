(function_item body: (block) @body) @function
(impl_item body: (declaration_list) @body) @function
(trait_item body: (declaration_list) @body) @function
(struct_item) @function

(function_declaration body: (statement_block) @body) @function
(generator_function_declaration body: (statement_block) @body) @function
(method_definition body: (statement_block) @body) @function
(arrow_function body: (statement_block) @body) @function
(class_declaration body: (class_body) @body) @function
(interface_declaration body: (_) @body) @function

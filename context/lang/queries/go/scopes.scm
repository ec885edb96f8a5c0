; Definitions whose signature is kept in the window; @body is the block.
(function_declaration body: (block) @body) @function
(method_declaration body: (block) @body) @function
(func_literal body: (block) @body) @function
(type_declaration) @function

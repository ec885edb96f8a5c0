(class_declaration body: (class_body) @body) @function
(interface_declaration body: (interface_body) @body) @function
(method_declaration body: (block) @body) @function
(constructor_declaration body: (constructor_body) @body) @function

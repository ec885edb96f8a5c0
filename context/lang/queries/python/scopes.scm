(function_definition body: (block) @body) @function
(class_definition body: (block) @body) @function

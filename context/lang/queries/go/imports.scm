; Lines kept when the prefix window is trimmed: package clause and imports.
(package_clause) @import
(import_declaration) @import

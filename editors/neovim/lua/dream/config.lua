-- Defaults for require("dream").setup{}; see :help dream-config.
local M = {}

M.defaults = {
  -- The server command. nil: { server_path, "serve", unpack(server_args) }.
  cmd = nil,
  -- The dream-lsp binary: a path, or a name looked up on PATH.
  server_path = "dream-lsp",
  -- Extra arguments after `dream-lsp serve`.
  server_args = {},
  -- Settings for the server (docs/design.md "LSP wire extensions"): sent as initializationOptions and
  -- answered for workspace/configuration section "dream". Keys: model, device, steps, maxTokens,
  -- debounceMs, enabledLanguages, triggerMode ("automatic" | "manual"), algorithm, deadlineMs.
  settings = {
    triggerMode = "automatic",
  },
  -- Filetypes to attach to; empty: every filetype (settings.enabledLanguages is applied on top: by
  -- default programming languages only, { "*" } for all).
  filetypes = {},
  -- Milliseconds the plugin waits after the last keystroke before it asks for an automatic completion.
  debounce_ms = 100,
  -- Insert-mode keys; set one to false to leave it unmapped. When no suggestion is shown, each key
  -- does what it does without the plugin.
  keymaps = {
    accept = "<Tab>",
    accept_word = "<M-Right>",
    accept_line = "<M-C-Right>",
    dismiss = "<C-]>",
    trigger = "<M-\\>",
    next = "<M-]>",
    prev = "<M-[>",
  },
  -- Highlight group of the ghost text (linked to Comment unless you define it).
  hl_group = "DreamGhost",
  -- Neovim 0.12+: use the built-in vim.lsp.inline_completion instead of the plugin's renderer
  -- (no partial accepts then).
  native = false,
  -- Root directory handed to the server; nil: the current working directory.
  root_dir = nil,
}

--- Merges user options over the defaults and validates them; raises a readable error on bad input.
function M.build(user)
  user = user or {}
  local types = {
    cmd = "table", server_path = "string", server_args = "table", settings = "table", filetypes = "table",
    debounce_ms = "number", keymaps = "table", hl_group = "string", native = "boolean", root_dir = "string",
  }
  for k, v in pairs(user) do
    if types[k] == nil then
      error(string.format("dream: unknown option %q", tostring(k)))
    elseif type(v) ~= types[k] then
      error(string.format("dream: option %s must be a %s, not %s", k, types[k], type(v)))
    end
  end
  local c = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), user)
  -- Lists replace, they do not merge index by index.
  c.server_args = user.server_args or M.defaults.server_args
  c.filetypes = user.filetypes or M.defaults.filetypes
  if user.settings and user.settings.enabledLanguages then
    c.settings.enabledLanguages = user.settings.enabledLanguages
  end
  local tm = c.settings.triggerMode
  if tm ~= "automatic" and tm ~= "manual" then
    error(string.format("dream: settings.triggerMode must be \"automatic\" or \"manual\", not %s", vim.inspect(tm)))
  end
  if c.debounce_ms < 0 then
    c.debounce_ms = 0
  end
  return c
end

--- The server command line for a config.
function M.command(c)
  if c.cmd then
    return c.cmd
  end
  local cmd = { c.server_path, "serve" }
  for _, a in ipairs(c.server_args) do
    cmd[#cmd + 1] = a
  end
  return cmd
end

-- The languages the server completes when settings.enabledLanguages is unset or empty (the server's
-- settings.DefaultLanguages, docs/protocol.md): programming languages, not Markdown, JSON or text.
-- { "*" } completes every filetype.
M.default_languages = {
  "go", "python", "c", "cpp", "cuda-cpp", "cuda", "java", "javascript", "javascriptreact",
  "typescript", "typescriptreact", "rust", "csharp", "cs", "kotlin", "scala", "swift",
  "objective-c", "objective-cpp", "objc", "objcpp", "ruby", "php", "lua", "perl", "r", "julia",
  "dart", "haskell", "ocaml", "elixir", "erlang", "clojure", "fsharp", "groovy", "zig", "nim",
  "shellscript", "sh", "bash", "zsh", "powershell", "ps1", "sql", "vue", "svelte",
}

--- Whether the plugin completes in a buffer of this filetype.
function M.filetype_enabled(c, ft)
  if ft == nil or ft == "" then
    return false
  end
  if #c.filetypes > 0 and not vim.tbl_contains(c.filetypes, ft) then
    return false
  end
  local langs = c.settings.enabledLanguages
  if type(langs) ~= "table" or #langs == 0 then
    langs = M.default_languages
  end
  return vim.tbl_contains(langs, "*") or vim.tbl_contains(langs, ft)
end

return M

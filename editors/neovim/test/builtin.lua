-- End-to-end test of dream-lsp with Neovim 0.12's built-in LSP client and NO plugin: the editor under
-- test is configured only with vim.lsp.config, vim.lsp.enable, vim.lsp.inline_completion.enable (plus
-- the accept mapping from `:help vim.lsp.inline_completion.get()`) and vim.lsp.completion.enable.
-- The server answers from its scripted test engine (lsp/lsptest.Scripted): the real infill path
-- (span detection, post-processing, validation, ranking) over a fake model that writes the raw middles
-- below. The buffer after accepting is compared, line by line and byte for byte, with lines written
-- by hand here; nothing is taken from the suggestion itself.
-- Environment: DREAM_LSP_BIN (server binary), DREAM_E2E_TIMEOUT_MS (per wait), DREAM_E2E_TMUX (path
-- of tmux: the editor runs in a real terminal and its screens are printed; empty: headless, no screens).
-- Run from editors/neovim: nvim --headless --clean -u NONE -c "luafile test/builtin.lua"
local root = vim.fn.getcwd()
package.path = root .. "/test/?.lua;" .. package.path
local H = require("helpers")
local test, eq, ok = H.test, H.eq, H.ok

local bin = os.getenv("DREAM_LSP_BIN") or ""
local timeout = tonumber(os.getenv("DREAM_E2E_TIMEOUT_MS") or "") or 30000
if bin == "" or vim.fn.executable(bin) ~= 1 then
  io.stdout:write("DREAM_LSP_BIN is not an executable: " .. bin .. "\n")
  vim.cmd("cquit! 2")
end
local tmux = os.getenv("DREAM_E2E_TMUX") or ""
if tmux == "" then
  tmux = nil
end

local tmp = vim.fn.tempname()
vim.fn.mkdir(tmp, "p")
local file = tmp .. "/main.go"

-- What the fake model writes, keyed by the text just before the cursor. Raw middles as a model
-- writes them: a space after the keyword, tabs, several lines (H.scripted_rules), and characters a
-- snippet must escape.
local script = {
  rules = vim.list_extend(vim.deepcopy(H.scripted_rules), {
    { before = "pick(err error) error {\n\t", middle = "if err != nil {\n\t\treturn fmt.Errorf(\"pick ${1}: %w\\n\", err)\n\t}\n" },
  }),
}
local script_file = tmp .. "/script.json"
vim.fn.writefile({ vim.json.encode(script) }, script_file)

local original = vim.list_extend(vim.deepcopy(H.scripted_original), {
  "",
  "func pick(err error) error {",
  "\t",
  "\treturn nil",
  "}",
})
vim.fn.writefile(original, file)

-- The editor under test: the built-in client and nothing else. Completions come from the server with
-- its default settings; no dream plugin is on the runtimepath.
local init = tmp .. "/init.lua"
vim.fn.writefile({
  H.exit_with_parent,
  "vim.opt.swapfile = false",
  "vim.opt.shadafile = 'NONE'",
  "vim.cmd('filetype indent off')",
  "vim.opt.autoindent = false",
  "vim.opt.tabstop = 4",
  -- Show the menu for one item too, select without inserting. (No 'popup': its documentation window
  -- needs the markdown tree-sitter parser, which Debian ships apart from Neovim.)
  "vim.opt.completeopt = 'menu,menuone,noinsert'",
  "if vim.lsp.log and vim.lsp.log.set_level then vim.lsp.log.set_level('debug') end",
  "vim.lsp.config('dream', {",
  "  cmd = { " .. vim.inspect(bin) .. ", 'serve' },",
  "  cmd_env = { DREAM_LSP_TEST_ENGINE = " .. vim.inspect("scripted:" .. script_file) .. " },",
  "  filetypes = { 'go' },",
  "})",
  "vim.lsp.enable('dream')",
  "vim.lsp.inline_completion.enable(true)",
  "vim.keymap.set('i', '<Tab>', function()",
  "  if not vim.lsp.inline_completion.get() then return '<Tab>' end",
  "end, { expr = true })",
  "vim.api.nvim_create_autocmd('LspAttach', { callback = function(ev)",
  "  vim.lsp.completion.enable(true, ev.data.client_id, ev.buf, { autotrigger = false })",
  "end })",
  "vim.keymap.set('i', '<C-Space>', function() vim.lsp.completion.get() end)",
}, init)

H.main(function()
local E = H.editor({ tmp = tmp, init = init, file = file, tmux = tmux, cols = 80, rows = 24 })
local lua, input, lines, mode = E.lua, E.input, E.lines, E.mode
io.stdout:write("Neovim under test: " .. lua("return tostring(vim.version())") .. (tmux and ", in tmux" or ", headless") .. "\n")

local function ghost_marks()
  return H.inline_completion_marks(E)
end

-- Puts the cursor at the end of (1-based) line n in insert mode, as `A` does, and waits for insert mode.
local function append_at(n)
  H.append_at(E, n)
  H.wait(2000, function()
    return mode() == "i"
  end)
end

-- The buffer with line n replaced by repl.
local replaced = H.replaced

test("the server attaches with inline completion and completion", function()
  ok(lua("return vim.lsp.inline_completion ~= nil"), "this Neovim has no vim.lsp.inline_completion (0.12+)")
  local ready = H.wait(timeout, function()
    return lua([[
      local c = vim.lsp.get_clients({ bufnr = 0, name = 'dream' })[1]
      return c ~= nil and c.server_capabilities ~= nil and c.server_capabilities.inlineCompletionProvider ~= nil
        and c.server_capabilities.completionProvider ~= nil
    ]])
  end)
  ok(ready, "dream-lsp not attached, or without inlineCompletionProvider/completionProvider")
  eq(lua("return vim.bo.filetype"), "go")
  eq(lines(), original, "buffer before any edit")
end)

-- The 1-based line after the line `text` in the buffer now (earlier steps may have failed).
local function line_after(text)
  return H.line_after(lines(), text)
end

test("inline completion, single line: `if` in a tab-indented file gets ` err != nil {`", function()
  local n, before = line_after("func check(err error) error {"), lines()
  local want = replaced(before, n, { "\tif err != nil {" })
  append_at(n)
  input("if")
  local m = H.wait(timeout, function()
    local x = ghost_marks()
    return #x > 0 and x
  end)
  E.show("ghost text after typing `if`")
  ok(m, "no ghost text after typing `if`")
  eq(lines()[n], "\tif", "typed line before accepting")
  input("<Tab>")
  ok(H.wait(5000, function()
    return lines()[n] ~= "\tif"
  end), "Tab accepted nothing: " .. vim.inspect(lines()[n]))
  E.show("after Tab")
  eq(lines(), want, "buffer after accepting")
  eq(lua("return vim.api.nvim_win_get_cursor(0)"), { n, #"\tif err != nil {" }, "cursor after the inserted text")
  eq(mode(), "i", "still in insert mode")
end)

test("inline completion, several lines: a blank line in a function body gets a whole `if` block", function()
  local n, before = line_after("func wrap(err error) error {"), lines()
  local want = replaced(before, n, {
    "\tif err != nil {",
    "\t\treturn fmt.Errorf(\"wrap: %w\", err)",
    "\t}",
  })
  append_at(n)
  local m = H.wait(timeout, function()
    local x = ghost_marks()
    return #x > 0 and x
  end)
  E.show("ghost text on the blank line")
  ok(m, "no ghost text on the blank line")
  ok(#(m[1][4].virt_lines or {}) >= 2, "the lines after the first are drawn as virtual lines: " .. vim.inspect(m[1][4]))
  input("<Tab>")
  ok(H.wait(5000, function()
    return not vim.deep_equal(lines(), before)
  end), "Tab accepted nothing")
  vim.wait(200)
  E.show("after Tab")
  eq(lines(), want, "buffer after accepting")
end)

test("vim.lsp.completion: accepting a multi-line item inserts every line", function()
  -- Only the completion menu here: no ghost text at the same time. Neovim 0.12.4's inline
  -- completion handler indexes the state that enable(false) clears, so a response still in flight
  -- then raises an error in the editor: leave insert mode (the handler drops responses outside it)
  -- and let every pending request finish first.
  input("<Esc>")
  ok(H.wait(timeout, function()
    return mode() == "n"
      and lua([[
        for _, c in ipairs(vim.lsp.get_clients({ bufnr = 0 })) do
          for _, r in pairs(c.requests) do
            if r.type == "pending" then
              return false
            end
          end
        end
        return true
      ]])
  end), "inline completion requests still pending")
  lua("vim.lsp.inline_completion.enable(false)")
  local n, before = line_after("func pick(err error) error {"), lines()
  local want = replaced(before, n, {
    "\tif err != nil {",
    "\t\treturn fmt.Errorf(\"pick ${1}: %w\\n\", err)",
    "\t}",
  })
  append_at(n)
  input("<C-Space>")
  local shown = H.wait(timeout, function()
    return lua("return vim.fn.pumvisible() == 1 and #vim.fn.complete_info({ 'items' }).items > 0")
  end)
  E.show("completion menu on the blank line")
  ok(shown, "no completion menu")
  local items = lua("return vim.fn.complete_info({ 'items' }).items")
  io.stdout:write("  items: " .. vim.inspect(vim.tbl_map(function(i)
    return i.abbr
  end, items)) .. "\n")
  if lua("return vim.fn.complete_info({ 'selected' }).selected") < 0 then
    input("<C-n>")
  end
  input("<C-y>")
  ok(H.wait(5000, function()
    return lua("return vim.fn.pumvisible()") == 0 and not vim.deep_equal(lines(), before)
  end), "accepting changed nothing")
  vim.wait(300)
  E.show("after accepting the item")
  eq(lines(), want, "buffer after accepting")
end)

test("no errors from the editor under test", function()
  local msgs = lua("return vim.api.nvim_exec2('messages', { output = true }).output")
  io.stdout:write("  :messages: " .. vim.inspect(msgs) .. "\n")
  ok(not msgs:find("E%d+:") and not msgs:lower():find("error"), "errors in :messages: " .. msgs)
  eq(E.stderr, {})
end)

E.close()
H.finish()
end)

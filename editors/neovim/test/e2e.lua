-- End-to-end test: a second, headless Neovim loads the plugin from this folder, attaches to a real
-- dream-lsp, and is driven with real key input (nvim_input) over RPC from this one.
-- Environment: DREAM_LSP_BIN (the server binary), DREAM_SERVER_ARGS (extra `serve` arguments, space
-- separated), DREAM_MODEL (settings.model; empty: the built-in model), DREAM_E2E_TIMEOUT_MS (per wait),
-- DREAM_E2E_NATIVE=1 (Neovim 0.12+: setup{ native = true }, the built-in vim.lsp.inline_completion),
-- DREAM_E2E_SCRIPTED=1 (the server's scripted engine, lsp/lsptest.Scripted: the real infill path over a
-- fake model writing the raw middles below; the buffer after accepting is compared with lines written
-- here by hand).
-- No check compares the buffer with the plugin's own idea of the suggestion, none passes when nothing
-- is shown, and none ignores whitespace.
-- Run from editors/neovim: nvim --headless --clean -u NONE -c "luafile test/e2e.lua"
local root = vim.fn.getcwd()
package.path = root .. "/test/?.lua;" .. package.path
local H = require("helpers")
local test, eq, ok = H.test, H.eq, H.ok

local bin = os.getenv("DREAM_LSP_BIN") or ""
local timeout = tonumber(os.getenv("DREAM_E2E_TIMEOUT_MS") or "") or 60000
if bin == "" or vim.fn.executable(bin) ~= 1 then
  io.stdout:write("DREAM_LSP_BIN is not an executable: " .. bin .. "\n")
  vim.cmd("cquit! 2")
end
local server_args = vim.split(os.getenv("DREAM_SERVER_ARGS") or "", " ", { trimempty = true })
-- With DREAM_LSP_TEST_ENGINE=echo the server answers from a deterministic fake engine
-- (lsp/lsptest.Echo): exact texts are checked too, and its hole marker is "/*?*/".
local echo = os.getenv("DREAM_LSP_TEST_ENGINE") == "echo"
local hole = echo and "/*?*/" or "/* fill */"
local native = os.getenv("DREAM_E2E_NATIVE") == "1"
local scripted = os.getenv("DREAM_E2E_SCRIPTED") == "1"

local tmp = vim.fn.tempname()
vim.fn.mkdir(tmp, "p")
local sock = tmp .. "/nvim.sock"
local file = tmp .. "/main.go"
if scripted then
  -- What the fake model writes, keyed by the text just before the cursor: a space after the keyword,
  -- tabs, several lines. The server inherits the variable through the editor under test.
  local script_file = tmp .. "/script.json"
  vim.fn.writefile({ vim.json.encode({ rules = H.scripted_rules }) }, script_file)
  vim.env.DREAM_LSP_TEST_ENGINE = "scripted:" .. script_file
end
local original = scripted and H.scripted_original or {
  "package main",
  "",
  "import \"fmt\"",
  "",
  "func greet(name string) string {",
  "\tmsg := \"hello, \" + name",
  "\treturn msg",
  "}",
  "",
  "func main() {",
  "\tfmt.Println(greet(\"dream\"))",
  "}",
}
vim.fn.writefile(original, file)

-- The editor under test: the plugin from this checkout, nothing else.
local init = tmp .. "/init.lua"
vim.fn.writefile({
  H.exit_with_parent,
  "vim.opt.runtimepath:prepend(" .. vim.inspect(root) .. ")",
  "vim.opt.swapfile = false",
  "vim.opt.shadafile = 'NONE'",
  "vim.cmd('filetype indent off')",
  "vim.opt.autoindent = false",
  scripted and "vim.opt.tabstop = 4" or "",
  "if vim.lsp.log and vim.lsp.log.set_level then vim.lsp.log.set_level('debug') else vim.lsp.set_log_level('debug') end",
  "require('dream').setup({",
  "  server_path = " .. vim.inspect(bin) .. ",",
  "  server_args = " .. vim.inspect(server_args) .. ",",
  "  debounce_ms = 30,",
  "  native = " .. tostring(native) .. ",",
  -- Short completions and a generous deadline: this tests the editor, not the model, on a busy machine.
  "  settings = { model = " .. vim.inspect(os.getenv("DREAM_MODEL") or "") .. ", triggerMode = 'automatic', debounceMs = 0,",
  "    maxTokens = 8, steps = 4, deadlineMs = 30000,",
  -- The tiny random model is never confident: with a model this run tests the plumbing, so the
  -- confidence threshold is off (suggestions that break the parse are still held back).
  (echo or scripted) and "  }," or "    minConfidence = 0 },",
  "})",
}, init)

local deprecations = {}
local job = vim.fn.jobstart({ "nvim", "--headless", "--clean", "-u", init, "--listen", sock, file }, {
  env = { XDG_STATE_HOME = tmp .. "/state", XDG_CACHE_HOME = tmp .. "/cache", XDG_DATA_HOME = tmp .. "/data" },
  on_stderr = function(_, data)
    for _, l in ipairs(data) do
      if l ~= "" then
        io.stdout:write("[nvim under test] " .. l .. "\n")
        if l:find("deprecated") then
          deprecations[#deprecations + 1] = l
        end
      end
    end
  end,
})
ok(job > 0, "could not start nvim")

local chan
H.wait(10000, function()
  if vim.loop.fs_stat(sock) then
    local okc, c = pcall(vim.fn.sockconnect, "pipe", sock, { rpc = true })
    if okc and c > 0 then
      chan = c
    end
  end
  return chan ~= nil
end)
if not chan then
  io.stdout:write("could not connect to the nvim under test\n")
  vim.fn.jobstop(job)
  vim.cmd("cquit! 1")
end

local function lua(code, ...)
  return vim.rpcrequest(chan, "nvim_exec_lua", code, { ... })
end
local function input(keys)
  vim.rpcrequest(chan, "nvim_input", keys)
end
local function lines()
  return vim.rpcrequest(chan, "nvim_buf_get_lines", 0, 0, -1, false)
end
local function mode()
  return vim.rpcrequest(chan, "nvim_get_mode").mode
end
local function visible()
  return lua("return require('dream').visible()")
end
local function suggestion()
  return lua("return require('dream').suggestion()")
end
local function marks()
  return lua("return vim.api.nvim_buf_get_extmarks(0, vim.api.nvim_create_namespace('dream'), 0, -1, { details = true })")
end
local function events()
  return table.concat(lua("return require('dream').events()"), "\n")
end
-- The editor under test for the helpers that drive it (H.append_at, H.inline_completion_marks).
local ed = { lua = lua, input = input, mode = mode }

test("the plugin attaches the server to the Go buffer", function()
  local ready = H.wait(timeout, function()
    return lua([[
      local c = require('dream').client()
      return c ~= nil and c.server_capabilities ~= nil and c.server_capabilities.inlineCompletionProvider ~= nil
        and vim.lsp.buf_is_attached(0, c.id)
    ]])
  end)
  ok(ready, "server not attached or no inlineCompletionProvider; events:\n" .. events())
  eq(lua("return vim.bo.filetype"), "go")
end)

test("the server's dream/status arrives", function()
  local st = H.wait(timeout, function()
    local s = lua("return require('dream').status()")
    return s ~= nil and s ~= vim.NIL and s.state ~= "loading" and s
  end)
  ok(st, "no dream/status besides loading")
  ok(st.state == "ready" or st.state == "busy" or st.state == "slow", "state " .. tostring(st.state))
  ok(lua("return require('dream').statusline()"):find("^Dream"), "statusline")
end)

-- The last check of every run, then the editor under test is closed and the totals printed.
local function finish()
  test("no deprecation warnings from the editor under test", function()
    vim.wait(300) -- let the last stderr lines arrive
    eq(deprecations, {})
  end)
  pcall(vim.rpcrequest, chan, "nvim_command", "qall!")
  vim.fn.jobwait({ job }, 5000)
  vim.fn.jobstop(job)
  H.finish()
end

-- The scripted engine: exact text in, exact buffer out, through the plugin's own rendering and Tab
-- (or, with native = true, Neovim's).
if scripted then
  local function ghost()
    if native then
      local m = H.inline_completion_marks(ed)
      return #m > 0 and m
    end
    return visible() and marks()
  end
  -- The text an extmark draws: its ghost chunks, then one "\n" + chunks per virtual line.
  local function ghost_hl(hl)
    return hl == "DreamGhost" or hl == "ComplHint"
  end
  local function drawn(m)
    return H.drawn(m, ghost_hl, ghost_hl)
  end
  local function append_at(n)
    H.append_at(ed, n)
  end
  local function line_after(text)
    return H.line_after(lines(), text)
  end
  local replaced = H.replaced

  test("scripted: `if` in a tab-indented file, Tab gives `if err != nil {`", function()
    local n, before = line_after("func check(err error) error {"), lines()
    append_at(n)
    input("if")
    local m = H.wait(timeout, ghost)
    ok(m, "no suggestion after typing `if`; events:\n" .. events())
    eq(drawn(m), " err != nil {", "ghost text drawn after `if`")
    input("<Tab>")
    ok(H.wait(5000, function()
      return lines()[n] ~= "\tif"
    end), "Tab accepted nothing")
    eq(lines(), replaced(before, n, { "\tif err != nil {" }), "buffer after accepting")
    eq(vim.rpcrequest(chan, "nvim_win_get_cursor", 0), { n, #"\tif err != nil {" }, "cursor after the inserted text")
    eq(mode(), "i", "still in insert mode")
  end)

  test("scripted: a blank line in a function body, Tab inserts the whole block", function()
    local n, before = line_after("func wrap(err error) error {"), lines()
    append_at(n)
    if not native then
      -- Entering insert mode is not typing: the plugin asks when the user presses its trigger key.
      input("<M-\\>")
    end
    local m = H.wait(timeout, ghost)
    ok(m, "no suggestion on the blank line; events:\n" .. events())
    -- The plugin draws tabs as spaces (tabstop 4); Neovim's own renderer draws them as they are.
    local t2, t1 = native and "\t\t" or "        ", native and "\t" or "    "
    eq(drawn(m), "if err != nil {\n" .. t2 .. "return fmt.Errorf(\"wrap: %w\", err)\n" .. t1 .. "}", "ghost text drawn")
    input("<Tab>")
    ok(H.wait(5000, function()
      return not vim.deep_equal(lines(), before)
    end), "Tab accepted nothing")
    vim.wait(200)
    eq(lines(), replaced(before, n, { "\tif err != nil {", "\t\treturn fmt.Errorf(\"wrap: %w\", err)", "\t}" }),
      "buffer after accepting")
    eq(mode(), "i", "still in insert mode")
  end)

  finish()
  return
end

-- native = true: the plugin hands rendering, Tab and cycling to Neovim's own vim.lsp.inline_completion.
if native then
  local function builtin_marks()
    return H.inline_completion_marks(ed)
  end
  local function drawn(m)
    return H.drawn(m, function(hl)
      return hl ~= "ComplHintMore" -- Neovim's " (i/n)" index hint after a select
    end)
  end

  test("native: vim.lsp.inline_completion is enabled and draws the server's suggestion", function()
    ok(lua("return vim.lsp.inline_completion ~= nil"), "this Neovim has no vim.lsp.inline_completion")
    ok(lua("return vim.lsp.inline_completion.is_enabled({ bufnr = 0 })"), "not enabled for the buffer")
    input("Govar w = greet")
    local m = H.wait(timeout, function()
      local x = builtin_marks()
      return #x > 0 and x
    end)
    ok(m, "no inline completion drawn by Neovim; events:\n" .. events())
    io.stdout:write("  drawn: " .. vim.inspect(drawn(m)) .. "\n")
    if echo then
      eq(drawn(m), "echo0(greet)", "drawn suggestion")
    end
    eq(#marks(), 0, "the plugin's own renderer stays off")
  end)

  if echo then
    -- Neovim's built-in client sends only automatic requests, which dream-lsp answers with one
    -- candidate (three for invoked ones): M-] must keep that item and raise nothing.
    test("native: M-] with the single automatic item keeps it", function()
      input("<M-]>")
      vim.wait(300)
      local x = builtin_marks()
      ok(#x > 0 and drawn(x) == "echo0(greet)", "after M-]: " .. vim.inspect(x))
      local hint = x[1][4].virt_text[#x[1][4].virt_text]
      eq(hint, { " (1/1)", "ComplHintMore" }, "select ran and reports one item")
    end)
  end

  test("native: Tab accepts through vim.lsp.inline_completion.get()", function()
    local before = lines()[#lines()]
    input("<Tab>")
    ok(H.wait(5000, function()
      return lines()[#lines()] ~= before
    end), "Tab changed nothing: " .. vim.inspect(lines()[#lines()]))
    local after = lines()[#lines()]
    ok(after:sub(1, #before) == before, "typed text kept: " .. vim.inspect(after))
    ok(not after:find("\t", #before + 1, true), "Tab inserted a tab instead of accepting: " .. vim.inspect(after))
    if echo then
      eq(after, "var w = greetecho0(greet)", "accepted the suggestion")
    end
    ok(H.wait(5000, function()
      return #builtin_marks() == 0
    end), "suggestion still drawn after accept")
    eq(mode(), "i", "still in insert mode")
  end)

  finish()
  return
end

-- UI checks that need a suggestion at spots where a model may rightly show none (the suggestion
-- policy holds back what would not parse): they run with the echo engine, whose texts are exact.
local function echo_test(name, fn)
  if echo then
    test(name, fn)
  else
    io.stdout:write("not run with a model - " .. name .. " (the echo-engine run checks it)\n")
  end
end

local row, typed_line
test("typing in the middle of a function shows ghost text as an extmark", function()
  -- Cursor on `\treturn msg` (line 7); open a line above it and type.
  lua("vim.api.nvim_win_set_cursor(0, {7, 0})")
  input("O")
  input("\tmsg = msg + ")
  local shown = H.wait(timeout, visible)
  ok(shown, "no suggestion; events:\n" .. events())
  eq(mode(), "i")
  local m = marks()
  eq(#m, 1, "one extmark")
  local d = m[1][4]
  ok(d.virt_text or d.virt_lines, "extmark has virtual text: " .. vim.inspect(d))
  local s = suggestion()
  io.stdout:write("  suggestion: " .. vim.inspect(s.text) .. "\n")
  row = s.row
  typed_line = lines()[row + 1]
  eq(row, 6, "suggestion row (0-based)")
  eq(typed_line, "\tmsg = msg + ")
  -- What is drawn is the suggestion: first line on the cursor line, the rest in virtual lines.
  local drawn = {}
  for _, chunk in ipairs(d.virt_text or {}) do
    if chunk[2] == "DreamGhost" then
      drawn[#drawn + 1] = chunk[1]
    end
  end
  for _, vl in ipairs(d.virt_lines or {}) do
    local parts = {}
    for _, chunk in ipairs(vl) do
      if chunk[2] == "DreamGhost" then
        parts[#parts + 1] = chunk[1]
      end
    end
    drawn[#drawn + 1] = "\n" .. table.concat(parts)
  end
  if echo then
    -- The echo engine's text for the empty word before the cursor, written out by hand.
    eq(table.concat(drawn), "echo0()", "ghost text drawn")
  else
    ok(table.concat(drawn) ~= "", "ghost text drawn: " .. vim.inspect(d))
  end
end)

test("Tab accepts: the buffer holds the typed text plus the suggestion", function()
  ok(visible(), "a suggestion is shown")
  local before = lines()
  input("<Tab>")
  ok(H.wait(timeout, function()
    return not visible()
  end), "suggestion still shown after Tab")
  local after = lines()
  -- Lines above the cursor's and the file's tail are kept exactly; the cursor's line starts with what
  -- was typed and got something after it.
  eq({ unpack(after, 1, row) }, { unpack(before, 1, row) }, "lines above")
  local tail = { unpack(before, row + 2) }
  eq({ unpack(after, #after - #tail + 1) }, tail, "lines below")
  if echo then
    eq(after, vim.list_extend({ unpack(before, 1, row) }, vim.list_extend({ "\tmsg = msg + echo0()" }, tail)),
      "buffer after accept")
  else
    ok(after[row + 1]:sub(1, #typed_line) == typed_line and #after[row + 1] > #typed_line or #after > #before,
      "nothing inserted: " .. vim.inspect(after[row + 1]))
  end
  eq(#marks(), 0, "extmark cleared")
  eq(mode(), "i", "still in insert mode")
  -- The rest of the file is untouched.
  eq(after[1], "package main")
  eq(after[#after], "}")
end)

echo_test("manual trigger, accept word keeps the rest shown, C-] dismisses", function()
  input("<Esc>")
  H.wait(2000, function()
    return mode() == "n"
  end)
  lua("vim.api.nvim_win_set_cursor(0, {5, 0})") -- `func greet(...) {`
  input("o")
  input("\tif name == \"\" {<CR>")
  H.wait(timeout, visible) -- the automatic request may show one first
  input("<M-\\>")
  local shown = H.wait(timeout, visible)
  ok(shown, "no suggestion after the trigger key; events:\n" .. events())
  local s = suggestion()
  local before = lines()
  local r = vim.rpcrequest(chan, "nvim_win_get_cursor", 0)[1]
  input("<M-Right>")
  ok(H.wait(5000, function()
    return not vim.deep_equal(lines(), before)
  end), "accept word changed nothing")
  local after = lines()
  if echo then
    -- "echo0()" on an empty line: the next word is "echo0"; "()" stays shown.
    local want = vim.deepcopy(before)
    want[r] = "echo0"
    eq(after, want, "buffer after accepting a word")
    ok(visible(), "the rest of the suggestion stays shown")
    eq(suggestion().text, "()", "the rest")
  else
    eq(#after, #before, "accept word stays on the line")
    ok(#after[r] > #before[r] and after[r]:sub(1, #before[r]) == before[r], "a word appended: " .. vim.inspect(after[r]))
    ok(not after[r]:sub(#before[r] + 1):find("^%s*$"), "more than blanks accepted: " .. vim.inspect(after[r]))
  end
  if visible() then
    input("<C-]>")
    ok(H.wait(5000, function()
      return not visible()
    end), "C-] dismissed")
  end
  ok(s.text ~= "", "the suggestion had text")
  eq(#marks(), 0, "no extmark left")
end)

echo_test("typing the suggestion's next character keeps the rest shown", function()
  input("<M-\\>")
  ok(H.wait(timeout, visible), "no suggestion after the trigger key; events:\n" .. events())
  local s = suggestion()
  if echo then
    -- Right after accepting "echo0" of "echo0()", the server's typed-ahead cache offers the rest.
    eq(s.text, "()", "echo text after the accepted word")
  end
  local c = s.text:match("^[%z\1-\127\194-\244][\128-\191]*") or ""
  if c == "" or c == "\t" or c == "\n" or c == "\r" or c == " " then
    io.stdout:write("  suggestion starts with " .. vim.inspect(c) .. ": nothing to type-ahead (model run)\n")
    return
  end
  io.stdout:write("  typing " .. vim.inspect(c) .. " of " .. vim.inspect(s.text) .. "\n")
  input(c == "<" and "<lt>" or c)
  ok(H.wait(5000, function()
    local s2 = suggestion()
    return s2 ~= nil and s2 ~= vim.NIL and s2.text == s.text:sub(#c + 1)
  end), "suggestion not advanced by typing " .. c .. "; events:\n" .. events())
end)

echo_test("typing a different character dismisses the suggestion", function()
  input("<M-\\>")
  ok(H.wait(timeout, visible), "no suggestion after the trigger key")
  local s = suggestion()
  local c = s.text:sub(1, 1) == "Z" and "Q" or "Z"
  local n = #lua("return require('dream').events()")
  input(c)
  -- The plugin drops the suggestion at once (its extmark goes) and, in automatic mode, asks again.
  ok(H.wait(5000, function()
    local ev = lua("return require('dream').events()")
    for i = n + 1, #ev do
      if ev[i]:find("^request") then
        return true
      end
    end
    return false
  end), "no new request after typing " .. c .. "; events:\n" .. events())
  local s2 = suggestion()
  ok(s2 == nil or s2 == vim.NIL or s2.col == s.col + 1, "no stale suggestion at the old position")
end)

if echo then
  test("echo engine: a suggestion that swallows the closer right of the cursor", function()
    input("<Esc>")
    H.wait(2000, function()
      return mode() == "n"
    end)
    local n = #lines()
    vim.rpcrequest(chan, "nvim_buf_set_lines", 0, n - 1, n - 1, false, { "\tx := greet(name)" })
    lua("vim.api.nvim_win_set_cursor(0, {" .. n .. ", 16})") -- on the ")"
    input("i")
    input("<M-\\>")
    ok(H.wait(timeout, visible), "no suggestion; events:\n" .. events())
    local s = suggestion()
    eq(s.text, "echo0(name))", "echo text")
    eq({ s.row, s.col }, { n - 1, 16 })
    local d = marks()[1][4]
    eq(d.virt_text_pos, "overlay", "drawn over the swallowed closer")
    eq(d.virt_text[1], { "echo0(name))", "DreamGhost" })
    input("<Tab>")
    ok(H.wait(5000, function()
      return lines()[n] == "\tx := greet(nameecho0(name))"
    end), "line after accept: " .. vim.inspect(lines()[n]))
    local pos = vim.rpcrequest(chan, "nvim_win_get_cursor", 0)
    eq(pos, { n, 16 + #"echo0(name))" }, "cursor after the inserted text")
  end)

  test("echo engine: a mid-line suggestion is inline virtual text on 0.10+, an overlay before", function()
    input("<Esc>")
    H.wait(2000, function()
      return mode() == "n"
    end)
    local n = #lines()
    vim.rpcrequest(chan, "nvim_buf_set_lines", 0, n - 1, n - 1, false, { "\tz := greet + 1" })
    lua("vim.api.nvim_win_set_cursor(0, {" .. n .. ", 11})") -- on the space after "greet"
    input("i")
    input("<M-\\>")
    ok(H.wait(timeout, visible), "no suggestion; events:\n" .. events())
    local s = suggestion()
    eq(s.text, "echo0(greet)", "echo text")
    eq({ s.row, s.col }, { n - 1, 11 })
    local d = marks()[1][4]
    local inline = vim.rpcrequest(chan, "nvim_call_function", "has", { "nvim-0.10" }) == 1
    io.stdout:write("  nvim-0.10: " .. tostring(inline) .. ", virt_text_pos " .. tostring(d.virt_text_pos) .. "\n")
    if inline then
      eq(d.virt_text_pos, "inline", "inserted between the characters")
      eq(d.virt_text[1], { "echo0(greet)", "DreamGhost" })
    else
      eq(d.virt_text_pos, "overlay", "overlay that redraws the tail")
      ok(d.virt_text[1][1]:find("^echo0%(greet%)"), "overlay starts with the suggestion: " .. vim.inspect(d.virt_text))
    end
    input("<Tab>")
    ok(H.wait(5000, function()
      return lines()[n] == "\tz := greetecho0(greet) + 1"
    end), "line after accept: " .. vim.inspect(lines()[n]))
  end)

  test("echo engine: M-] and M-[ cycle through the invoked items", function()
    input("<Esc>")
    H.wait(2000, function()
      return mode() == "n"
    end)
    input("Govar w = greet<Esc>")
    input("a")
    input("<M-\\>")
    ok(H.wait(timeout, visible), "no suggestion")
    eq(suggestion().text, "echo0(greet)")
    input("<M-]>")
    ok(H.wait(5000, function()
      return suggestion() ~= vim.NIL and suggestion().text == "echo1(greet)"
    end), "next: " .. vim.inspect(suggestion()))
    input("<M-[>")
    input("<M-[>")
    ok(H.wait(5000, function()
      local s = suggestion()
      return s ~= vim.NIL and s.text:match("^echo%d%(greet%)$") and s.text ~= "echo0(greet)" and s.text ~= "echo1(greet)"
    end), "previous wraps around to the last item: " .. vim.inspect(suggestion()))
    input("<Tab>")
    ok(H.wait(5000, function()
      return lines()[#lines()]:match("^var w = greetecho%d%(greet%)$") ~= nil
    end), "accepted the cycled item: " .. vim.inspect(lines()[#lines()]))
  end)
end

test(":DreamFillHoles fills the marked hole through workspace/applyEdit", function()
  input("<Esc>")
  H.wait(2000, function()
    return mode() == "n"
  end)
  local n = #lines()
  vim.rpcrequest(chan, "nvim_buf_set_lines", 0, n - 1, n - 1, false, { "\tname := " .. hole, "\t_ = name" })
  local before = lines()
  vim.rpcrequest(chan, "nvim_command", "DreamFillHoles")
  ok(H.wait(timeout, function()
    return not table.concat(lines(), "\n"):find(hole, 1, true)
  end), "the hole is still there; events:\n" .. events())
  local after = lines()
  local i = n -- 1-based index of the hole's line
  eq(after[i]:sub(1, 9), "\tname := ", "text before the hole kept")
  eq({ unpack(after, 1, i - 1) }, { unpack(before, 1, i - 1) }, "lines above unchanged")
  eq(after[#after], before[#before], "last line unchanged")
  io.stdout:write("  filled: " .. vim.inspect(after[i]) .. "\n")
  -- A range ending on the last line (:[range]DreamFillHoles).
  local last = #after
  vim.rpcrequest(chan, "nvim_buf_set_lines", 0, last, last, false, { "var v = " .. hole })
  vim.rpcrequest(chan, "nvim_command", (last + 1) .. "," .. (last + 1) .. "DreamFillHoles")
  ok(H.wait(timeout, function()
    return not lines()[last + 1]:find(hole, 1, true)
  end), "the hole on the last line is still there: " .. vim.inspect(lines()[last + 1]) .. "; events:\n" .. events())
  eq(lines()[last + 1]:sub(1, 8), "var v = ")
  if echo then
    eq(after[i], "\tname := hole0", "echo engine's fill")
  end
end)

echo_test("backspace drops the suggestion without asking again", function()
  input("<Esc>")
  H.wait(2000, function()
    return mode() == "n"
  end)
  input("Go")
  input("var z = ")
  ok(H.wait(timeout, visible), "no suggestion after typing; events:\n" .. events())
  local n = #lua("return require('dream').events()")
  input("<BS>")
  ok(H.wait(5000, function()
    return not visible()
  end), "suggestion still shown after backspace")
  vim.wait(600) -- longer than debounce_ms
  local ev = lua("return require('dream').events()")
  for i = n + 1, #ev do
    ok(not ev[i]:find("^request"), "a request after backspace: " .. ev[i])
  end
  input("<Esc>")
end)

test(":DreamToggle turns completions off and on", function()
  input("<Esc>")
  vim.rpcrequest(chan, "nvim_command", "DreamToggle")
  ok(H.wait(5000, function()
    return lua("return require('dream').statusline()") == "Dream off"
  end), "statusline after toggle: " .. tostring(lua("return require('dream').statusline()")))
  input("o")
  input("x")
  vim.wait(400)
  ok(not visible(), "no suggestion while off")
  input("<Esc>")
  vim.rpcrequest(chan, "nvim_command", "DreamToggle")
  ok(H.wait(5000, function()
    return lua("return require('dream').statusline()") ~= "Dream off"
  end), "back on")
end)

test(":DreamRestart replaces the server and re-attaches the buffer", function()
  local before = lua("return require('dream').client().id")
  vim.rpcrequest(chan, "nvim_command", "DreamRestart")
  ok(H.wait(timeout, function()
    return lua([[
      local c = require('dream').client()
      local st = require('dream').status()
      return c ~= nil and c.id ~= ... and vim.lsp.buf_is_attached(0, c.id) and st ~= nil and st.state == "ready"
    ]], before)
  end), "no new ready client; events:\n" .. events())
end)

test(":checkhealth dream reports the server", function()
  vim.rpcrequest(chan, "nvim_command", "checkhealth dream")
  local text = table.concat(lines(), "\n")
  ok(text:find("dream"), "health buffer")
  ok(not text:find("ERROR"), "health has errors:\n" .. text)
end)

finish()

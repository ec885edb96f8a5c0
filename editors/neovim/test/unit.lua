-- Unit tests of the pure parts (run: nvim --headless --clean -u NONE -c "luafile test/unit.lua" from editors/neovim).
vim.opt.runtimepath:prepend(vim.fn.getcwd())
package.path = vim.fn.getcwd() .. "/test/?.lua;" .. package.path
local H = require("helpers")
local util = require("dream.util")
local config = require("dream.config")
local test, eq, ok = H.test, H.eq, H.ok

test("utf-16 columns count surrogate pairs", function()
  local line = "a😀é b" -- bytes: a(1) 😀(4) é(2) space(1) b(1)
  eq(util.to_units(line, 0), 0)
  eq(util.to_units(line, 1), 1)
  eq(util.to_units(line, 5), 3, "after the emoji")
  eq(util.to_units(line, 7), 4, "after é")
  eq(util.to_units(line, #line), 6)
  eq(util.to_units(line, 5, "utf-32"), 2)
  eq(util.to_units(line, 5, "utf-8"), 5)
  eq(util.from_units(line, 3), 5)
  eq(util.from_units(line, 2), 5, "inside a surrogate pair rounds up")
  eq(util.from_units(line, 4), 7)
  eq(util.from_units(line, 99), #line, "clamped")
  eq(util.from_units(line, 2, "utf-32"), 5)
  eq(util.length("😀x"), 3)
end)

test("round trip over every byte boundary", function()
  local line = "x := \"日本語\" // ok 😀"
  for col = 0, #line do
    local b = line:byte(col + 1)
    if not b or b < 0x80 or b >= 0xC0 then -- a character boundary
      eq(util.from_units(line, util.to_units(line, col)), col, "col " .. col)
    end
  end
end)

test("split_lines keeps empty pieces and drops CR", function()
  eq(util.split_lines("a\n\nb\r\n"), { "a", "", "b", "" })
  eq(util.split_lines(""), { "" })
end)

test("next_word and next_line", function()
  eq(util.next_word("foo(bar)"), "foo")
  eq(util.next_word("(bar)"), "(")
  eq(util.next_word("  := 1"), "  :=")
  eq(util.next_word("\n\treturn x"), "\n\treturn")
  eq(util.next_word("héllo wörld"), "héllo")
  eq(util.next_word(""), "")
  eq(util.next_line("a, b)\n\treturn"), "a, b)")
  eq(util.next_line("\n\treturn x\n}"), "\n\treturn x")
  eq(util.next_line("\n"), "\n")
  eq(util.next_line("x"), "x")
end)

test("expand_tabs follows tab stops from the start column", function()
  eq(util.expand_tabs("\tx", 0, 4), "    x")
  eq(util.expand_tabs("\tx", 2, 4), "  x")
  eq(util.expand_tabs("a\tb", 0, 8), "a       b")
end)

test("anchor: insert at the cursor without a range", function()
  local s = util.anchor({ insertText = "len(xs)" }, "\tn := ", 3, 6, "utf-16")
  eq(s, { text = "len(xs)", rest = "len(xs)", s = 6, e = 6 })
end)

test("anchor: range starting before the cursor must match what is typed", function()
  local line = "\treturn stri"
  local item = { insertText = "strings.Join(xs, \",\")", range = { start = { line = 2, character = 8 }, ["end"] = { line = 2, character = 12 } } }
  local s = util.anchor(item, line, 2, 12, "utf-16")
  eq(s.rest, "ngs.Join(xs, \",\")")
  eq({ s.s, s.e }, { 8, 12 })
  local bad = { insertText = "fmt.Println()", range = item.range }
  local none, why = util.anchor(bad, line, 2, 12, "utf-16")
  eq(none, nil)
  ok(why:find("typed prefix"), why)
end)

test("anchor: range that swallows auto-closed characters after the cursor", function()
  local line = "\tf(x)"
  local item = { insertText = "a, b)", range = { start = { line = 0, character = 3 }, ["end"] = { line = 0, character = 5 } } }
  local s = util.anchor(item, line, 0, 3, "utf-16")
  eq({ s.rest, s.s, s.e }, { "a, b)", 3, 5 })
end)

test("anchor: rejects other lines, a cursor outside the range, snippets become text", function()
  local r = { start = { line = 1, character = 0 }, ["end"] = { line = 1, character = 0 } }
  eq(util.anchor({ insertText = "x", range = r }, "abc", 0, 0, "utf-16"), nil)
  local r2 = { start = { line = 0, character = 0 }, ["end"] = { line = 0, character = 1 } }
  eq(util.anchor({ insertText = "x", range = r2 }, "abc", 0, 3, "utf-16"), nil)
  eq(util.anchor({ insertText = { kind = "snippet", value = "f()" } }, "", 0, 0).rest, "f()")
  eq(util.anchor({ insertText = "" }, "", 0, 0), nil)
  eq(util.anchor("garbage", "", 0, 0), nil)
  eq(util.anchor({ insertText = 42 }, "", 0, 0), nil)
end)

test("snippet_text: dream-lsp's escaped snippets give back their exact text", function()
  eq(util.snippet_text("map(\"\\$x\")\n\ty := `a\\\\b`\n\\}"), "map(\"$x\")\n\ty := `a\\b`\n}")
  eq(util.snippet_text("f($1)$0"), "f()")
  eq(util.snippet_text("f(${1:x}, ${2})"), "f(x, )")
  eq(util.snippet_text("a \\ b"), "a \\ b", "a lone backslash stays")
  eq(util.snippet_text("\t  lead\n    spaces"), "\t  lead\n    spaces", "whitespace is kept")
end)

test("anchor: multi-line text keeps every character (leading whitespace, every line)", function()
  local text = "\n\t\tif err != nil {\n\t\t\treturn err\n\t\t}\n  "
  local s = util.anchor({ insertText = text, range = { start = { line = 4, character = 7 }, ["end"] = { line = 4, character = 7 } } },
    "\tx, err", 4, 7, "utf-16")
  eq(s.rest, text)
  eq(util.split_lines(s.rest), { "", "\t\tif err != nil {", "\t\t\treturn err", "\t\t}", "  " })
  local lead = util.anchor({ insertText = "  x := 1\n  y := 2" }, "", 0, 0, "utf-16")
  eq(lead.rest, "  x := 1\n  y := 2", "leading spaces of the first line are kept")
  local snip = util.anchor({ insertText = { kind = "snippet", value = "a(\\$b)\n\tc\\}" } }, "", 0, 0, "utf-16")
  eq(snip.rest, "a($b)\n\tc}")
end)

test("anchor: UTF-16 range on a line with astral characters", function()
  local line = "s := \"😀\" + "
  local c = #line
  local u = util.to_units(line, c)
  local s = util.anchor({ insertText = "x", range = { start = { line = 0, character = u }, ["end"] = { line = 0, character = u } } }, line, 0, c, "utf-16")
  eq({ s.s, s.e }, { c, c })
end)

test("layout: end of line is plain ghost text", function()
  local l = util.layout({ rest = "foo()", e = 4 }, "\tx :", 4, { inline_ok = false })
  eq(l.first, { { "foo()", "DreamGhost" } })
  eq(l.lines, {})
  eq(l.inline, false)
end)

test("layout: mid-line on 0.10+ is inline; before 0.10 an overlay that redraws the tail", function()
  local line = "f(x)"
  local sugg = { rest = ", y", e = 3 }
  local new = util.layout(sugg, line, 3, { inline_ok = true })
  eq(new.inline, true)
  eq(new.first, { { ", y", "DreamGhost" } })
  local old = util.layout(sugg, line, 3, { inline_ok = false })
  eq(old.inline, false)
  eq(old.first, { { ", y", "DreamGhost" }, { ")", "Normal" } })
end)

test("layout: replaced characters are hidden with padding", function()
  -- cursor before "))", item replaces both with ")"
  local l = util.layout({ rest = ")", e = 2 }, "))", 0, { inline_ok = true })
  eq(l.first, { { ")", "DreamGhost" }, { " ", "Normal" } })
end)

test("layout: multi-line moves the tail to the last virtual line", function()
  local line = "\tif x {}"
  local l = util.layout({ rest = "\n\t\treturn 1\n\t", e = 7 }, line, 7, { inline_ok = true, tabstop = 4 })
  eq(l.inline, false)
  eq(l.first, { { " ", "Normal" } }, "the } is covered (it moves down)")
  eq(l.lines, { { { "        return 1", "DreamGhost" } }, { { "    ", "DreamGhost" }, { "}", "Normal" } } })
end)

test("config: defaults, validation, filetypes", function()
  local c = config.build({ settings = { model = "/m", enabledLanguages = { "go" } } })
  eq(c.settings.triggerMode, "automatic")
  eq(c.settings.model, "/m")
  eq(c.keymaps.accept, "<Tab>")
  eq(config.command(c), { "dream-lsp", "serve" })
  eq(config.command(config.build({ server_path = "/x/dream-lsp", server_args = { "--log-level", "debug" } })),
    { "/x/dream-lsp", "serve", "--log-level", "debug" })
  eq(config.command(config.build({ cmd = { "a", "b" } })), { "a", "b" })
  ok(config.filetype_enabled(c, "go"))
  ok(not config.filetype_enabled(c, "python"))
  ok(not config.filetype_enabled(c, ""))
  ok(config.filetype_enabled(config.build({}), "python"))
  ok(not config.filetype_enabled(config.build({}), "markdown"), "programming languages only by default")
  ok(not config.filetype_enabled(config.build({}), "json"), "programming languages only by default")
  ok(not config.filetype_enabled(config.build({ settings = { enabledLanguages = {} } }), "text"), "{}: the default list")
  ok(config.filetype_enabled(config.build({ settings = { enabledLanguages = { "*" } } }), "markdown"), "* enables all")
  ok(not config.filetype_enabled(config.build({ filetypes = { "lua" } }), "python"))
  ok(not pcall(config.build, { settings = { triggerMode = "sometimes" } }))
  ok(not pcall(config.build, { debounce_ms = "fast" }))
  eq(config.build({ keymaps = { accept = false } }).keymaps.accept, false)
  eq(config.build({ keymaps = { accept = false } }).keymaps.dismiss, "<C-]>")
end)

test("setup with a missing server reports it instead of raising", function()
  local dream = require("dream")
  local notified
  local orig = vim.notify
  vim.notify = function(msg)
    notified = msg
  end
  local okc, err = pcall(function()
    dream.setup({ server_path = "/nonexistent/dream-lsp" })
    local buf = vim.api.nvim_create_buf(true, false)
    vim.api.nvim_set_current_buf(buf)
    vim.bo[buf].filetype = "go"
  end)
  vim.notify = orig
  ok(okc, tostring(err))
  ok(notified and notified:find("not an executable"), "notified: " .. tostring(notified))
  eq(dream.status().state, "error")
  eq(dream.client(), nil)
  ok(not pcall(dream.setup, { bogus = 1 }), "unknown option rejected")
  ok(not pcall(dream.setup, { debounce_ms = "1" }), "wrong type rejected")
end)

test("native mode (0.12+ API, stubbed here) enables vim.lsp.inline_completion and maps its keys", function()
  local calls = {}
  vim.lsp.inline_completion = {
    enable = function(on, filter)
      calls[#calls + 1] = { "enable", on, filter and filter.bufnr }
    end,
    get = function()
      calls[#calls + 1] = { "get" }
      return true
    end,
    select = function(o)
      calls[#calls + 1] = { "select", o.count }
    end,
  }
  local okc, err = pcall(function()
    require("dream").setup({ server_path = "true", native = true })
    local buf = vim.api.nvim_create_buf(true, false)
    vim.api.nvim_set_current_buf(buf)
    vim.bo[buf].filetype = "go"
    local enabled_here = false
    for _, c in ipairs(calls) do
      enabled_here = enabled_here or (c[1] == "enable" and c[2] == true and c[3] == buf)
    end
    ok(enabled_here, "enable(true, {bufnr}) for the Go buffer: " .. vim.inspect(calls))
    calls = {}
    local function rhs(lhs)
      local want = vim.api.nvim_replace_termcodes(lhs, true, false, true)
      for _, m in ipairs(vim.api.nvim_get_keymap("i")) do
        if vim.api.nvim_replace_termcodes(m.lhs, true, false, true) == want then
          return m.callback
        end
      end
      error("no insert-mode mapping for " .. lhs)
    end
    rhs("<Tab>")()
    rhs("<M-]>")()
    rhs("<M-[>")()
  end)
  vim.lsp.inline_completion = nil
  ok(okc, tostring(err))
  eq(calls, { { "get" }, { "select", 1 }, { "select", -1 } })
  eq(vim.fn.maparg("<M-Right>", "i"), "", "no partial accept in native mode")
end)

H.finish()

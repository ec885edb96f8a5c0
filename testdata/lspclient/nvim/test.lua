-- Headless Neovim (0.7.2 and later) attaches to dream-lsp through its
-- built-in LSP client and receives completions. Run by
-- lsp/integration_test.go as:
--
--   DREAM_LSP_BIN=... DREAM_TEST_FILE=... DREAM_TEST_OUT=... \
--     nvim --headless --clean -u NONE -c "luafile test.lua"
--
-- The server runs the "echo" test engine (DREAM_LSP_TEST_ENGINE). Results
-- go to DREAM_TEST_OUT, one "ok ..." line per check and a final "PASS" or
-- "FAIL ..." line; Neovim then quits.
local bin = assert(os.getenv("DREAM_LSP_BIN"), "DREAM_LSP_BIN")
local file = assert(os.getenv("DREAM_TEST_FILE"), "DREAM_TEST_FILE")
local out = assert(io.open(assert(os.getenv("DREAM_TEST_OUT"), "DREAM_TEST_OUT"), "w"))

local function say(line)
  out:write(line .. "\n")
  out:flush()
end

local function check(cond, what, detail)
  if not cond then
    error("FAIL " .. what .. (detail ~= nil and (": " .. vim.inspect(detail)) or ""), 0)
  end
  say("ok   " .. what)
end

local function run()
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  vim.bo.filetype = "go"
  local bufnr = vim.api.nvim_get_current_buf()

  local ready = false
  local client_id = vim.lsp.start_client({
    name = "dream",
    cmd = { bin, "serve", "--log-level", "debug" },
    cmd_env = { DREAM_LSP_TEST_ENGINE = "echo" },
    root_dir = vim.fn.fnamemodify(file, ":h"),
    init_options = { debounceMs = 0 },
    handlers = {
      ["dream/status"] = function(_, result)
        if result and result.state == "ready" then
          ready = true
        end
      end,
    },
  })
  check(client_id ~= nil, "start_client")
  check(vim.lsp.buf_attach_client(bufnr, client_id), "buf_attach_client")
  check(vim.wait(10000, function() return ready end, 20), "server reports ready (dream/status)")
  local client = vim.lsp.get_client_by_id(client_id)
  check(client.server_capabilities ~= nil or client.resolved_capabilities ~= nil, "initialized")
  local caps = client.server_capabilities or {}
  check(caps.inlineCompletionProvider == true, "inlineCompletionProvider advertised", caps)

  -- Cursor after "na" on the line `	x := "é😀" + na)`: Neovim computes the
  -- UTF-16 column from the byte column itself.
  local row = 6 -- 1-based
  local line = vim.api.nvim_buf_get_lines(bufnr, row - 1, row, true)[1]
  local col = assert(line:find("na)", 1, true)) + 1 -- byte column after "na", 0-based
  vim.api.nvim_win_set_cursor(0, { row, col })
  local params = vim.lsp.util.make_position_params()
  params.context = { triggerKind = 1 }

  local function request(method, p)
    local done, res, rerr = false, nil, nil
    client.request(method, p, function(e, r)
      rerr, res, done = e, r, true
    end, bufnr)
    check(vim.wait(10000, function() return done end, 10), method .. " answered")
    return res, rerr
  end

  local res, rerr = request("textDocument/inlineCompletion", params)
  check(rerr == nil, "inline completion without error", rerr)
  check(res and res.items and #res.items == 3, "invoked: several items", res)
  check(res.items[1].insertText == "echo0(na))", "item text", res.items[1])
  check(res.items[1].range.start.character == params.position.character, "range starts at the cursor", res.items[1].range)

  -- Type in the buffer; Neovim sends an incremental didChange before the
  -- next request.
  vim.api.nvim_buf_set_text(bufnr, row - 1, col, row - 1, col, { "me" })
  vim.api.nvim_win_set_cursor(0, { row, col + 2 })
  local p2 = vim.lsp.util.make_position_params()
  p2.context = { triggerKind = 2 }
  res, rerr = request("textDocument/inlineCompletion", p2)
  check(rerr == nil and #res.items == 1 and res.items[1].insertText == "echo0(name))", "completion after an edit", res or rerr)

  -- The completion fallback, as omnifunc or a completion plugin would ask.
  res, rerr = request("textDocument/completion", vim.lsp.util.make_position_params())
  check(rerr == nil and res and #res.items >= 1 and res.items[1].textEdit.newText == "nameecho0(name)", "completion fallback (the re-typed paren stays in place)", res or rerr)

  vim.lsp.stop_client(client_id)
  check(vim.wait(5000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 20), "client stopped")
end

local ok, err = pcall(run)
if ok then
  say("PASS")
else
  say(tostring(err))
end
out:close()
vim.cmd("qa!")

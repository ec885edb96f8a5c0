-- A tiny test harness for headless Neovim 0.7+ (no plenary): test(name, fn), eq(a, b), finish().
local H = { passed = 0, failed = 0, skipped = 0 }

function H.eq(got, want, what)
  if not vim.deep_equal(got, want) then
    error(string.format("%s: got %s, want %s", what or "value", vim.inspect(got), vim.inspect(want)), 2)
  end
end

function H.ok(cond, what)
  if not cond then
    error(what or "assertion failed", 2)
  end
end

function H.test(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    H.passed = H.passed + 1
    io.stdout:write("ok - " .. name .. "\n")
  else
    H.failed = H.failed + 1
    io.stdout:write("not ok - " .. name .. "\n" .. tostring(err) .. "\n")
  end
end

--- Waits up to ms for cond() to be true, running the event loop; returns cond()'s last value.
function H.wait(ms, cond)
  local v
  vim.wait(ms, function()
    v = cond()
    return v
  end, 20)
  return v
end

--- Runs main() and exits Neovim with an error when it raises one (a spec must never hang).
function H.main(main)
  local ok, err = xpcall(main, debug.traceback)
  if not ok then
    io.stdout:write("spec aborted: " .. tostring(err) .. "\n")
    io.stdout:flush()
    vim.cmd("cquit! 1")
  end
end

--- Prints the totals and exits Neovim with 0 when nothing failed.
function H.finish()
  io.stdout:write(string.format("%d passed, %d failed\n", H.passed, H.failed))
  io.stdout:flush()
  vim.cmd((H.failed == 0 and H.passed > 0) and "qall!" or "cquit! 1")
end

--- A line for an init file: the editor under test exits when its parent (the spec) is gone, so a spec
--- killed on a timeout leaves no editor behind (a raw libuv timer: it runs even at a prompt).
H.exit_with_parent = "do local uv = vim.uv or vim.loop; local ppid = uv.os_getppid(); local t = uv.new_timer();"
  .. " t:start(500, 500, function() if uv.os_getppid() ~= ppid then os.exit(1) end end) end"

--- Starts a second Neovim (the editor under test) with init file `init` on `file`, headless, listening
--- on a socket in `tmp`, and connects to it over RPC. With `tmux` (a path; Neovim 0.9+) a terminal UI
--- (`nvim --remote-ui`) attaches to it inside a private tmux server of `cols` x `rows`, so E.screen()
--- captures what a user sees. (The editor itself is not started in tmux: Neovim's TUI re-runs its own
--- executable, which for a build unpacked by fetch-nvim.sh is the dynamic loader.)
function H.editor(opts)
  local tmp, sock = opts.tmp, opts.tmp .. "/nvim.sock"
  local E = { stderr = {}, tmux = opts.tmux, tmux_sock = tmp .. "/tmux.sock" }
  E.job = vim.fn.jobstart({ "nvim", "--headless", "--clean", "-u", opts.init, "--listen", sock, opts.file }, {
    env = { XDG_STATE_HOME = tmp .. "/state", XDG_CACHE_HOME = tmp .. "/cache", XDG_DATA_HOME = tmp .. "/data" },
    on_stderr = function(_, data)
      for _, l in ipairs(data) do
        if l ~= "" then
          io.stdout:write("[nvim under test] " .. l .. "\n")
          E.stderr[#E.stderr + 1] = l
        end
      end
    end,
  })
  if E.job <= 0 then
    error("could not start nvim")
  end
  function E.close()
    if E.chan then
      -- At a prompt the command would wait forever (see unblocked below); jobstop ends it then.
      local okm, m = pcall(vim.rpcrequest, E.chan, "nvim_get_mode")
      if okm and not m.blocking then
        pcall(vim.rpcrequest, E.chan, "nvim_command", "qall!")
      end
    end
    vim.fn.jobwait({ E.job }, 5000)
    vim.fn.jobstop(E.job)
    if E.tmux then
      vim.fn.system({ E.tmux, "-S", E.tmux_sock, "kill-server" })
    end
  end
  H.wait(10000, function()
    if vim.loop.fs_stat(sock) then
      local okc, c = pcall(vim.fn.sockconnect, "pipe", sock, { rpc = true })
      if okc and c > 0 then
        E.chan = c
      end
    end
    return E.chan ~= nil
  end)
  if not E.chan then
    E.close()
    error("could not connect to the nvim under test")
  end
  if E.tmux then
    local out = vim.fn.system({ E.tmux, "-S", E.tmux_sock, "-f", "/dev/null", "new-session", "-d", "-x",
      tostring(opts.cols or 80), "-y", tostring(opts.rows or 24), "nvim", "--remote-ui", "--server", sock })
    if vim.v.shell_error ~= 0 then
      E.close()
      error("tmux new-session failed: " .. out)
    end
    local attached = H.wait(10000, function()
      return #vim.rpcrequest(E.chan, "nvim_list_uis") > 0
    end)
    if not attached then
      E.close()
      error("the terminal UI did not attach in tmux")
    end
  end
  -- A request the editor under test defers while it waits at a prompt (hit-enter, more, a pending
  -- operator) would block the spec until the Go test's timeout, with nothing said. nvim_get_mode is
  -- answered even there, so each such request is preceded by it, and a blocked editor is an error
  -- that shows the screen.
  local function unblocked(what)
    local m = vim.rpcrequest(E.chan, "nvim_get_mode")
    if m.blocking then
      local screen = E.screen and E.screen() or nil
      error(string.format("the editor under test waits at a prompt (mode %q) before %s%s", m.mode, what,
        screen and ("; its screen:\n" .. screen) or ""))
    end
  end
  function E.lua(code, ...)
    unblocked("nvim_exec_lua " .. code:sub(1, 60))
    return vim.rpcrequest(E.chan, "nvim_exec_lua", code, { ... })
  end
  function E.input(keys)
    vim.rpcrequest(E.chan, "nvim_input", keys)
  end
  function E.lines()
    unblocked("nvim_buf_get_lines")
    return vim.rpcrequest(E.chan, "nvim_buf_get_lines", 0, 0, -1, false)
  end
  function E.mode()
    return vim.rpcrequest(E.chan, "nvim_get_mode").mode
  end
  --- The terminal screen as text (tmux capture-pane), or nil when headless.
  function E.screen()
    if not E.tmux then
      return nil
    end
    vim.wait(150) -- let the UI flush the last redraw
    return vim.fn.system({ E.tmux, "-S", E.tmux_sock, "capture-pane", "-p" })
  end
  --- Prints the screen between marker lines under a title (the Go test logs the spec's output).
  function E.show(title)
    local s = E.screen()
    if s then
      io.stdout:write("---- screen: " .. title .. " ----\n" .. s:gsub("\n+$", "") .. "\n---- end of screen ----\n")
    end
  end
  return E
end

--- The 1-based line after the line `text` in buf (a list of lines), or an error when there is none.
function H.line_after(buf, text)
  for i, l in ipairs(buf) do
    if l == text then
      return i + 1
    end
  end
  error("no line " .. vim.inspect(text) .. " in the buffer")
end

--- A copy of base with its (1-based) line n replaced by the lines repl.
function H.replaced(base, n, repl)
  local out = { unpack(base, 1, n - 1) }
  vim.list_extend(out, repl)
  vim.list_extend(out, base, n + 1, #base)
  return out
end

--- Puts the cursor of the editor under test at the end of (1-based) line n and enters insert mode,
--- as `A` does. ed holds the editor's lua, input and mode functions (E of H.editor).
function H.append_at(ed, n)
  ed.input("<Esc>")
  H.wait(2000, function()
    return ed.mode() == "n"
  end)
  ed.lua("vim.api.nvim_win_set_cursor(0, {" .. n .. ", 0})")
  ed.input("A")
end

--- The extmarks of Neovim's own vim.lsp.inline_completion (0.12+) in the current buffer: its ghost text.
function H.inline_completion_marks(ed)
  return ed.lua([[return vim.api.nvim_buf_get_extmarks(0, vim.api.nvim_create_namespace('nvim.lsp.inline_completion'),
    0, -1, { details = true })]])
end

--- The text the first extmark of m (nvim_buf_get_extmarks with details) draws: the chunks of its
--- virt_text whose highlight group keep_text accepts, then "\n" and the chunks keep_line accepts for
--- each of its virt_lines (a nil predicate keeps every chunk).
function H.drawn(m, keep_text, keep_line)
  local parts = {}
  for _, chunk in ipairs(m[1][4].virt_text or {}) do
    if not keep_text or keep_text(chunk[2]) then
      parts[#parts + 1] = chunk[1]
    end
  end
  for _, vl in ipairs(m[1][4].virt_lines or {}) do
    parts[#parts + 1] = "\n"
    for _, chunk in ipairs(vl) do
      if not keep_line or keep_line(chunk[2]) then
        parts[#parts + 1] = chunk[1]
      end
    end
  end
  return table.concat(parts)
end

--- The scripted engine's rules (lsp/lsptest.Scripted) both scripted specs share: what the fake model
--- writes, keyed by the text just before the cursor, as a model writes it (a space after the keyword,
--- tabs, several lines).
H.scripted_rules = {
  { before = "check(err error) error {\n\tif", middle = " err != nil {\n\t\treturn err\n\t}\n" },
  { before = "wrap(err error) error {\n\t", middle = "if err != nil {\n\t\treturn fmt.Errorf(\"wrap: %w\", err)\n\t}\n" },
}

--- The Go file the scripted specs edit (tab-indented, as gofmt writes Go): an `if` to complete in
--- check, a blank line for a whole block in wrap.
H.scripted_original = {
  "package main",
  "",
  "import \"fmt\"",
  "",
  "func check(err error) error {",
  "\t",
  "\t\treturn err",
  "\t}",
  "\treturn nil",
  "}",
  "",
  "func wrap(err error) error {",
  "\t",
  "\treturn nil",
  "}",
}

return H

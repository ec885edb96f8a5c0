-- dream.nvim: ghost-text code completion from the dream-lsp language server.
-- Works on Neovim 0.7+ (vim.lsp.start_client, extmark overlays + virt_lines); uses inline virtual
-- text on 0.10+ and can hand over to the built-in vim.lsp.inline_completion on 0.12+ (`native = true`).
local config = require("dream.config")
local util = require("dream.util")

local M = {}

local ns = vim.api.nvim_create_namespace("dream")
local has_inline = vim.fn.has("nvim-0.10") == 1
local uv = vim.uv or vim.loop

-- Client methods: called with ":" from 0.11 on (the "." form is deprecated there), with "." before.
local method_calls = vim.fn.has("nvim-0.11") == 1
local function c_request(client, method, params, handler, bufnr)
  if method_calls then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end
local function c_notify(client, method, params)
  if method_calls then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end
local function c_stopped(client)
  if method_calls then
    return client:is_stopped()
  end
  return client.is_stopped ~= nil and client.is_stopped()
end
local function c_cancel(client, id)
  if method_calls then
    return client:cancel_request(id)
  end
  return client.cancel_request(id)
end
local function c_stop(client)
  if method_calls then
    return client:stop()
  end
  return client.stop()
end

--- Plugin state (one insert-mode cursor at a time, so one suggestion at a time).
local S = {
  cfg = nil, -- built config
  client_id = nil,
  enabled = true,
  status = nil, -- last dream/status params
  timer = nil,
  req = nil, -- { client, id, bufnr }
  ghost = nil, -- shown suggestion, see show()
  own_tick = nil, -- changedtick right after the plugin's own edit
  log = {}, -- last few events, for :DreamStatus and tests
  sizes = {}, -- buffer size in bytes at the last change, per buffer (to tell deletions)
}

local function note(fmt, ...)
  local msg = string.format(fmt, ...)
  table.insert(S.log, msg)
  if #S.log > 500 then
    table.remove(S.log, 1)
  end
end

local function get_clients()
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ name = "dream" })
  end
  local out = {}
  for _, c in pairs(vim.lsp.get_active_clients()) do
    if c.name == "dream" and not c_stopped(c) then
      out[#out + 1] = c
    end
  end
  return out
end

--- The running dream client, if any.
function M.client()
  if S.client_id then
    local c = vim.lsp.get_client_by_id(S.client_id)
    if c and not c_stopped(c) then
      return c
    end
  end
  return get_clients()[1]
end

local function in_insert()
  return vim.api.nvim_get_mode().mode:sub(1, 1) == "i"
end

local function stop_timer()
  if S.timer then
    S.timer:stop()
    if not S.timer:is_closing() then
      S.timer:close()
    end
    S.timer = nil
  end
end

local function cancel_request()
  if S.req then
    local r = S.req
    S.req = nil
    pcall(c_cancel, r.client, r.id)
  end
end

local function clear_marks(bufnr)
  if bufnr and vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, ns, 0, -1)
  end
end

--- Removes the suggestion and stops any pending request or timer.
function M.dismiss()
  stop_timer()
  cancel_request()
  if S.ghost then
    clear_marks(S.ghost.bufnr)
    S.ghost = nil
  end
end

--- Whether a suggestion is shown.
function M.visible()
  return S.ghost ~= nil
end

--- The shown suggestion (for statuslines and tests): { text = <remaining text>, row, col, item }.
function M.suggestion()
  if not S.ghost then
    return nil
  end
  local g = S.ghost
  return { text = g.sugg.rest, row = g.row, col = g.col, item = g.item }
end

local function render()
  local g = S.ghost
  if not g or not vim.api.nvim_buf_is_valid(g.bufnr) then
    return
  end
  clear_marks(g.bufnr)
  g.tick = vim.api.nvim_buf_get_changedtick(g.bufnr)
  local line = vim.api.nvim_buf_get_lines(g.bufnr, g.row, g.row + 1, false)[1] or ""
  local before = line:sub(1, g.col)
  local layout = util.layout(g.sugg, line, g.col, {
    hl = S.cfg.hl_group,
    inline_ok = has_inline,
    tabstop = vim.bo[g.bufnr].tabstop,
    vcol = vim.fn.strdisplaywidth(before),
    width_after_cursor = vim.fn.strdisplaywidth(line) - vim.fn.strdisplaywidth(before),
    strwidth = vim.fn.strdisplaywidth,
  })
  local opts = { hl_mode = "combine", priority = 200 }
  if #layout.first > 0 then
    opts.virt_text = layout.first
    opts.virt_text_pos = layout.inline and "inline" or "overlay"
  end
  if #layout.lines > 0 then
    opts.virt_lines = layout.lines
  end
  g.mark = vim.api.nvim_buf_set_extmark(g.bufnr, ns, g.row, g.col, opts)
end

local function exec_command(client, cmd, bufnr)
  if type(cmd) ~= "table" or type(cmd.command) ~= "string" then
    return
  end
  c_request(client, "workspace/executeCommand", { command = cmd.command, arguments = cmd.arguments }, function(err)
    if err then
      note("%s failed: %s", cmd.command, err.message or vim.inspect(err))
    end
  end, bufnr)
end

local function cursor()
  local pos = vim.api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local function show(bufnr, client, item, row, col, line)
  local sugg, why = util.anchor(item, line, row, col, client.offset_encoding or "utf-16")
  if not sugg then
    note("item dropped: %s", why)
    return false
  end
  S.ghost = {
    bufnr = bufnr,
    row = row,
    col = col,
    item = item,
    sugg = sugg,
    client = client,
    -- bytes of insertText already in the buffer (typed before the request, or partly accepted)
    taken = #sugg.text - #sugg.rest,
  }
  render()
  c_notify(client, "textDocument/didShowCompletion", { item = item })
  note("shown %d bytes at %d:%d", #sugg.rest, row + 1, col)
  return true
end

--- Asks the server for a completion at the cursor. kind: 1 = invoked (the trigger key), 2 = automatic.
function M.request(kind)
  M.dismiss()
  if not S.enabled then
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.client()
  if not client or not config.filetype_enabled(S.cfg, vim.bo[bufnr].filetype) then
    return
  end
  if vim.lsp.buf_is_attached and not vim.lsp.buf_is_attached(bufnr, client.id) then
    return
  end
  local row, col = cursor()
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local enc = client.offset_encoding or "utf-16"
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = row, character = util.to_units(line, col, enc) },
    context = { triggerKind = kind or 2 },
  }
  local ok, id
  ok, id = c_request(client, "textDocument/inlineCompletion", params, function(err, result)
    vim.schedule(function()
      if not S.req or S.req.id ~= id then
        return -- superseded or dismissed
      end
      S.req = nil
      if err then
        note("inlineCompletion error: %s", err.message or vim.inspect(err))
        return
      end
      local r2, c2 = cursor()
      if vim.api.nvim_get_current_buf() ~= bufnr or vim.api.nvim_buf_get_changedtick(bufnr) ~= tick
        or r2 ~= row or c2 ~= col or not in_insert() then
        note("response dropped: the buffer or cursor changed")
        return
      end
      local items = result and (result.items or result) or {}
      if type(items) ~= "table" then
        return
      end
      S.items = { bufnr = bufnr, row = row, col = col, line = line, client = client, list = items, index = 0 }
      for i, item in ipairs(items) do
        if show(bufnr, client, item, row, col, line) then
          S.items.index = i
          return
        end
      end
      note("no usable item (%d received)", #items)
    end)
  end, bufnr)
  if ok then
    S.req = { client = client, id = id, bufnr = bufnr }
    note("request %s at %d:%d kind %d", tostring(id), row + 1, col, kind or 2)
  end
end

--- Like pressing the trigger key: an explicit request (several items may come back; the first is shown).
function M.trigger()
  M.request(1)
end

--- Shows the next (delta = 1) or previous (-1) of the items the last request returned, when the cursor
--- is still where it was asked and nothing was accepted; otherwise asks explicitly (several items come
--- back then). Returns true when something happened.
function M.cycle(delta)
  local it, g = S.items, S.ghost
  local row, col = cursor()
  local here = it and it.bufnr == vim.api.nvim_get_current_buf() and it.row == row and it.col == col
  if not here or (g and (g.row ~= it.row or g.col ~= it.col)) or #it.list < 2 then
    M.trigger()
    return true
  end
  local n = #it.list
  for step = 1, n - 1 do
    local i = ((it.index - 1 + step * delta) % n) + 1
    clear_marks(it.bufnr)
    S.ghost = nil
    if show(it.bufnr, it.client, it.list[i], it.row, it.col, it.line) then
      it.index = i
      return true
    end
  end
  return true
end

--- Shows the next item (see cycle).
function M.next()
  return M.cycle(1)
end

--- Shows the previous item (see cycle).
function M.prev()
  return M.cycle(-1)
end

local function set_cursor_after(row, col, text)
  local lines = util.split_lines(text)
  if #lines == 1 then
    return row, col + #text
  end
  return row + #lines - 1, #lines[#lines]
end

--- Accepts the suggestion: what = "all" (default), "word" or "line". Returns false when none is shown.
function M.accept(what)
  local g = S.ghost
  if not g then
    return false
  end
  local row, col = cursor()
  if vim.api.nvim_get_current_buf() ~= g.bufnr or row ~= g.row or col ~= g.col then
    M.dismiss()
    return false
  end
  what = what or "all"
  local rest = g.sugg.rest
  local part = rest
  if what == "word" then
    part = util.next_word(rest)
  elseif what == "line" then
    part = util.next_line(rest)
  end
  if part == "" then
    part = rest
  end
  local bufnr, client = g.bufnr, g.client
  if part == rest then
    -- Full accept: replace the item's range end, so auto-closed characters it swallows go away.
    vim.api.nvim_buf_set_text(bufnr, g.row, g.col, g.row, g.sugg.e, util.split_lines(rest))
    local r, c = set_cursor_after(g.row, g.col, rest)
    clear_marks(bufnr)
    S.ghost = nil
    S.own_tick = vim.api.nvim_buf_get_changedtick(bufnr)
    vim.api.nvim_win_set_cursor(0, { r + 1, c })
    exec_command(client, g.item.command, bufnr)
    note("accepted %d bytes", #rest)
    return true
  end
  -- Partial accept: insert the part, keep the rest of the suggestion.
  vim.api.nvim_buf_set_text(bufnr, g.row, g.col, g.row, g.col, util.split_lines(part))
  local r, c = set_cursor_after(g.row, g.col, part)
  local kept = g.sugg.e - g.col -- bytes of the replaced range after the cursor, still in the buffer
  g.row, g.col = r, c
  g.sugg = { text = g.sugg.text, rest = rest:sub(#part + 1), s = g.sugg.s, e = c + kept }
  g.taken = g.taken + #part
  S.own_tick = vim.api.nvim_buf_get_changedtick(bufnr)
  vim.api.nvim_win_set_cursor(0, { r + 1, c })
  render()
  c_notify(client, "textDocument/didPartiallyAcceptCompletion", {
    item = g.item,
    -- Copilot's shape: UTF-16 units from the start of insertText.
    acceptedLength = util.length(g.sugg.text:sub(1, g.taken), "utf-16"),
  })
  note("accepted %d bytes (%s)", #part, what)
  return true
end

--- Accepts the next word of the suggestion.
function M.accept_word()
  return M.accept("word")
end

--- Accepts the next line of the suggestion.
function M.accept_line()
  return M.accept("line")
end

--- Typing: keep the suggestion while the user types exactly its next characters, else drop it and
--- (in automatic mode) ask again after the debounce.
local function buf_size(bufnr)
  return vim.api.nvim_buf_get_offset(bufnr, vim.api.nvim_buf_line_count(bufnr))
end

local function on_text_changed()
  local bufnr = vim.api.nvim_get_current_buf()
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  if S.own_tick == tick then
    return
  end
  local g = S.ghost
  if g and g.bufnr == bufnr then
    local row, col = cursor()
    local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
    if row == g.row and col > g.col then
      local typed = line:sub(g.col + 1, col)
      local rest = g.sugg.rest
      if not typed:find("\n", 1, true) and rest:sub(1, #typed) == typed then
        g.sugg = { text = g.sugg.text, rest = rest:sub(#typed + 1), s = g.sugg.s, e = g.sugg.e + #typed }
        g.col = col
        g.taken = g.taken + #typed
        if g.sugg.rest == "" and g.sugg.e == g.col then
          M.dismiss()
        else
          render()
        end
        return
      end
    end
  end
  M.dismiss()
  -- Deleting (backspace, <C-w>, ...) does not ask for a suggestion: users find that noisy.
  local size = buf_size(bufnr)
  local shrank = S.sizes[bufnr] ~= nil and size < S.sizes[bufnr]
  S.sizes[bufnr] = size
  if shrank then
    return
  end
  if S.cfg.settings.triggerMode == "automatic" and S.enabled then
    S.timer = uv.new_timer()
    S.timer:start(S.cfg.debounce_ms, 0, vim.schedule_wrap(function()
      stop_timer()
      if in_insert() and vim.api.nvim_get_current_buf() == bufnr then
        M.request(2)
      end
    end))
  end
end

local function on_cursor_moved()
  local g = S.ghost
  if not g then
    return
  end
  if vim.api.nvim_get_current_buf() == g.bufnr and vim.api.nvim_buf_get_changedtick(g.bufnr) ~= g.tick then
    return -- the text changed: TextChangedI decides (typing the suggestion's next characters keeps it)
  end
  local row, col = cursor()
  if vim.api.nvim_get_current_buf() ~= g.bufnr or row ~= g.row or col ~= g.col then
    M.dismiss()
  end
end

-- The key's own meaning when no suggestion is shown. "i" puts it before the keys still waiting in
-- the typeahead (fast typing), "n" keeps it from being mapped again.
local function feed(lhs)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(lhs, true, false, true), "ni", false)
end

local function map_keys(cfg)
  -- A second setup() replaces the first one's keys.
  for _, lhs in ipairs(S.mapped or {}) do
    pcall(vim.keymap.del, "i", lhs)
  end
  S.mapped = {}
  local km = cfg.keymaps or {}
  local set = vim.keymap.set
  local function map(mode, lhs, rhs, opts)
    set(mode, lhs, rhs, opts)
    table.insert(S.mapped, lhs)
  end
  local function imap(lhs, fn, desc)
    if lhs then
      map("i", lhs, function()
        if not fn() then
          feed(lhs)
        end
      end, { desc = desc, silent = true })
    end
  end
  if cfg.native and vim.lsp.inline_completion then
    -- Neovim 0.12+: the built-in renderer; only full accepts and cycling exist there.
    local ic = vim.lsp.inline_completion
    imap(km.accept, function()
      return ic.get()
    end, "Dream: accept")
    if ic.select then
      for key, count in pairs({ next = 1, prev = -1 }) do
        if km[key] then
          map("i", km[key], function()
            ic.select({ count = count })
          end, { desc = "Dream: " .. key .. " suggestion", silent = true })
        end
      end
    end
    return
  end
  imap(km.accept, function()
    return M.accept("all")
  end, "Dream: accept the suggestion")
  imap(km.accept_word, M.accept_word, "Dream: accept the next word")
  imap(km.accept_line, M.accept_line, "Dream: accept the next line")
  imap(km.dismiss, function()
    if S.ghost or S.req then
      M.dismiss()
      return true
    end
    return false
  end, "Dream: dismiss the suggestion")
  if km.trigger then
    map("i", km.trigger, M.trigger, { desc = "Dream: ask for a suggestion", silent = true })
  end
  if km.next then
    map("i", km.next, M.next, { desc = "Dream: next suggestion", silent = true })
  end
  if km.prev then
    map("i", km.prev, M.prev, { desc = "Dream: previous suggestion", silent = true })
  end
end

--- Status text for statuslines: "" when no server, else e.g. "Dream ready 85ms".
function M.statusline()
  local st = S.status
  if not M.client() then
    return ""
  end
  if not S.enabled then
    return "Dream off"
  end
  if not st then
    return "Dream starting"
  end
  local s = "Dream " .. tostring(st.state or "?")
  if st.state == "ready" and type(st.lastLatencyMs) == "number" and st.lastLatencyMs > 0 then
    s = s .. (st.lastLatencyMs < 1 and " <1ms" or string.format(" %dms", math.floor(st.lastLatencyMs + 0.5)))
  end
  return s
end

--- The last dream/status the server sent (nil before the first one).
function M.status()
  return S.status
end

--- Recent plugin events, newest last (for debugging and tests).
function M.events()
  return vim.deepcopy(S.log)
end

local function on_status(_, result)
  if type(result) == "table" then
    -- Errors are told once per distinct message (the statusline may not show the plugin).
    if result.state == "error" and result.message ~= S.told_error then
      S.told_error = result.message
      vim.schedule(function()
        vim.notify("Dream: " .. tostring(result.message ~= "" and result.message or "error") .. " (:DreamLog)",
          vim.log.levels.WARN)
      end)
    elseif result.state == "ready" then
      S.told_error = nil
    end
    S.status = result
    if result.state == "disabled" then
      S.enabled = false
    elseif result.state == "ready" then
      S.enabled = true
    end
    vim.schedule(function()
      pcall(vim.cmd, "redrawstatus")
    end)
  end
end

--- Turns completions off or on (asks the server too; its answer wins when it gives one).
function M.toggle()
  S.enabled = not S.enabled
  if not S.enabled then
    M.dismiss()
  end
  local client = M.client()
  if client then
    c_request(client, "workspace/executeCommand", { command = "dream.toggle", arguments = {} }, function(err, result)
      -- The server answers {"enabled": bool}; its word wins.
      if not err and type(result) == "table" and type(result.enabled) == "boolean" then
        S.enabled = result.enabled
        if not S.enabled then
          vim.schedule(M.dismiss)
        end
      end
    end)
  end
  vim.notify("Dream completions " .. (S.enabled and "enabled" or "disabled"), vim.log.levels.INFO)
end

--- Prints the server's status (asks it with dream.status).
function M.show_status()
  local client = M.client()
  if not client then
    vim.notify("Dream: the server is not running (:checkhealth dream)", vim.log.levels.WARN)
    return
  end
  c_request(client, "workspace/executeCommand", { command = "dream.status", arguments = {} }, function(err, result)
    if not err and type(result) == "table" then
      on_status(nil, result)
    end
    local st = S.status or {}
    local acc = (type(result) == "table" and type(result.acceptance) == "table") and result.acceptance or nil
    vim.schedule(function()
      local msg = string.format("Dream: %s%s | model %s | backend %s | last %s ms | completions %s",
        tostring(st.state or "unknown"), (st.message and st.message ~= "") and (" (" .. st.message .. ")") or "",
        tostring(st.model or "?"), tostring(st.backend or "?"), tostring(st.lastLatencyMs or "-"),
        S.enabled and "on" or "off")
      if acc then
        msg = msg .. string.format(" | shown %s, accepted %s, partly %s", tostring(acc.shown), tostring(acc.accepted),
          tostring(acc.partiallyAccepted))
      end
      vim.notify(msg, vim.log.levels.INFO)
    end)
  end)
end

--- Fills every marked hole in lines first..last (1-based, inclusive), or in the whole buffer when nil.
--- The server answers with a workspace/applyEdit, which Neovim applies.
function M.fill_holes(first, last)
  local client = M.client()
  if not client then
    vim.notify("Dream: the server is not running", vim.log.levels.WARN)
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local args = { uri = vim.uri_from_bufnr(bufnr) }
  if first and last then
    -- End at the end of the last line (a position on the line after it may not exist).
    local text = vim.api.nvim_buf_get_lines(bufnr, last - 1, last, false)[1] or ""
    local enc = client.offset_encoding or "utf-16"
    args.range = {
      start = { line = first - 1, character = 0 },
      ["end"] = { line = last - 1, character = util.to_units(text, #text, enc) },
    }
  end
  c_request(client, "workspace/executeCommand", { command = "dream.fillHoles", arguments = { args } }, function(err)
    if err then
      vim.schedule(function()
        vim.notify("Dream: fill holes failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      end)
    end
  end, bufnr)
end

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument = caps.textDocument or {}
  caps.textDocument.inlineCompletion = { dynamicRegistration = false }
  return caps
end

local function client_config(cfg)
  return {
    name = "dream",
    cmd = config.command(cfg),
    root_dir = cfg.root_dir or vim.fn.getcwd(),
    init_options = cfg.settings,
    settings = { dream = cfg.settings },
    capabilities = capabilities(),
    handlers = { ["dream/status"] = on_status },
    on_exit = function(code, signal, client_id)
      note("server exited: code %s signal %s", tostring(code), tostring(signal))
      if client_id ~= nil and S.client_id ~= nil and client_id ~= S.client_id then
        return -- an older client (restart)
      end
      S.client_id = nil
      S.status = { state = "error", message = string.format("server exited (code %s, signal %s)", code, signal) }
    end,
    on_init = function(client)
      note("server initialized")
      local caps = client.server_capabilities or {}
      if not caps.inlineCompletionProvider then
        note("server does not advertise inlineCompletionProvider")
      end
    end,
  }
end

--- Starts the server if needed and attaches it to bufnr. Returns the client id.
function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local exe = config.command(S.cfg)[1]
  if vim.fn.executable(exe) ~= 1 then
    if not S.warned_missing then
      S.warned_missing = true
      vim.notify(string.format("dream: %q is not an executable or not on PATH; set server_path (see :checkhealth dream)", exe),
        vim.log.levels.ERROR)
    end
    S.status = { state = "error", message = "dream-lsp not found: " .. exe }
    return nil
  end
  if vim.fn.has("nvim-0.11") == 1 then
    S.client_id = vim.lsp.start(client_config(S.cfg), { bufnr = bufnr })
  else
    if not M.client() then
      S.client_id = vim.lsp.start_client(client_config(S.cfg))
    end
    if S.client_id then
      vim.lsp.buf_attach_client(bufnr, S.client_id)
    end
  end
  if S.client_id and S.cfg.native and vim.lsp.inline_completion then
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  end
  return S.client_id
end

local function define_highlight(name)
  local ok, hl
  if vim.api.nvim_get_hl then
    ok, hl = pcall(vim.api.nvim_get_hl, 0, { name = name })
  else
    ok, hl = pcall(vim.api.nvim_get_hl_by_name, name, true)
  end
  if not ok or vim.tbl_isempty(hl) then
    vim.api.nvim_set_hl(0, name, { link = "Comment", default = true })
  end
end

local function attach_all()
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) and config.filetype_enabled(S.cfg, vim.bo[b].filetype) and vim.bo[b].buftype == "" then
      M.attach(b)
    end
  end
end

--- Stops the server, waits for it to exit (up to 5 s), and starts it again for the open buffers.
function M.restart()
  M.dismiss()
  local old = M.client()
  S.client_id = nil
  S.status = nil
  if not old then
    attach_all()
    return
  end
  c_stop(old)
  local waited = 0
  local function again()
    local c = vim.lsp.get_client_by_id(old.id)
    if c and not c_stopped(c) and waited < 5000 then
      waited = waited + 100
      vim.defer_fn(again, 100)
      return
    end
    attach_all()
  end
  vim.defer_fn(again, 100)
end

--- The effective configuration (after setup).
function M.config()
  return S.cfg
end

--- Sets the plugin up; see :help dream-setup.
function M.setup(user)
  S.cfg = config.build(user)
  define_highlight(S.cfg.hl_group)
  local group = vim.api.nvim_create_augroup("dream", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    callback = function(ev)
      if config.filetype_enabled(S.cfg, vim.bo[ev.buf].filetype) and vim.bo[ev.buf].buftype == "" then
        M.attach(ev.buf)
      end
    end,
  })
  if not (S.cfg.native and vim.lsp.inline_completion) then
    vim.api.nvim_create_autocmd({ "TextChangedI", "TextChangedP" }, { group = group, callback = on_text_changed })
    vim.api.nvim_create_autocmd("CursorMovedI", { group = group, callback = on_cursor_moved })
    vim.api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, { group = group, callback = M.dismiss })
    vim.api.nvim_create_autocmd("InsertEnter", {
      group = group,
      callback = function(ev)
        S.sizes[ev.buf] = buf_size(ev.buf)
      end,
    })
    vim.api.nvim_create_autocmd("BufWipeout", {
      group = group,
      callback = function(ev)
        S.sizes[ev.buf] = nil
      end,
    })
    vim.api.nvim_create_autocmd("ColorScheme", {
      group = group,
      callback = function()
        define_highlight(S.cfg.hl_group)
      end,
    })
  end
  map_keys(S.cfg)

  local cmd = vim.api.nvim_create_user_command
  cmd("DreamToggle", M.toggle, { desc = "Turn Dream completions off or on" })
  cmd("DreamStatus", M.show_status, { desc = "Show the Dream server's status" })
  cmd("DreamTrigger", M.trigger, { desc = "Ask Dream for a suggestion" })
  cmd("DreamFillHoles", function(o)
    if o.range > 0 then
      M.fill_holes(o.line1, o.line2)
    else
      M.fill_holes()
    end
  end, { range = true, desc = "Fill marked holes in the range or the buffer" })
  cmd("DreamLog", function()
    vim.cmd("tabnew " .. vim.fn.fnameescape(require("dream.util").lsp_log_path()))
  end, { desc = "Open Neovim's LSP log (server stderr lands there)" })
  cmd("DreamRestart", function()
    M.restart()
  end, { desc = "Restart the Dream server" })

  -- Buffers opened before setup.
  attach_all()
end

return M

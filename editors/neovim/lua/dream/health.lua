-- :checkhealth dream
local M = {}

local h = vim.health or require("health")
local start = h.start or h.report_start
local okr = h.ok or h.report_ok
local warn = h.warn or h.report_warn
local err = h.error or h.report_error
local info = h.info or h.report_info

function M.check()
  start("dream: Neovim")
  local v = vim.version()
  local ver = string.format("%d.%d.%d", v.major, v.minor, v.patch)
  if vim.fn.has("nvim-0.7") == 1 then
    okr("Neovim " .. ver)
  else
    err("Neovim " .. ver .. " is too old: dream.nvim needs 0.7 or newer")
  end
  if vim.fn.has("nvim-0.10") == 1 then
    okr("inline virtual text: mid-line suggestions are shown inline")
  else
    info("no inline virtual text before 0.10: mid-line suggestions are drawn as an overlay of the line")
  end
  if vim.lsp.inline_completion then
    info("vim.lsp.inline_completion is available (setup{ native = true } uses it)")
  end

  local dream = require("dream")
  local cfg = dream.config()
  start("dream: setup")
  if not cfg then
    err("require('dream').setup{} has not been called")
    return
  end
  okr("setup done; trigger mode " .. tostring(cfg.settings.triggerMode))

  start("dream: server")
  local cmd = require("dream.config").command(cfg)
  local exe = vim.fn.exepath(cmd[1])
  if exe == "" then
    err(string.format("%q is not an executable or not on PATH", cmd[1]),
      { "Build it with `make build` (bin/dream-lsp) or `go install ./cmd/dream-lsp`", "or set setup{ server_path = '/path/to/dream-lsp' }" })
  else
    okr("server binary: " .. exe)
    local out = vim.fn.system({ exe, "version" })
    if vim.v.shell_error == 0 then
      okr("dream-lsp version: " .. vim.trim(out))
    else
      warn("`dream-lsp version` failed: " .. vim.trim(out))
    end
  end
  local client = dream.client()
  if client then
    okr(string.format("client %d running: %s", client.id, table.concat(cmd, " ")))
    local caps = client.server_capabilities or {}
    if caps.inlineCompletionProvider then
      okr("the server offers textDocument/inlineCompletion")
    else
      warn("the server does not advertise inlineCompletionProvider (yet)")
    end
  else
    info("no client running yet (it starts when a buffer of an enabled filetype opens)")
  end
  local st = dream.status()
  if st then
    local line = string.format("status %s%s, model %s, backend %s", tostring(st.state),
      (st.message and st.message ~= "") and (" (" .. st.message .. ")") or "", tostring(st.model), tostring(st.backend))
    if st.state == "error" then
      err(line)
    elseif st.state == "slow" or st.state == "disabled" then
      warn(line)
    else
      okr(line)
    end
  end
  info("server log: :DreamLog (" .. require("dream.util").lsp_log_path() .. ")")
end

return M

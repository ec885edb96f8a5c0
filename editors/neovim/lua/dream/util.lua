-- Pure helpers for dream.nvim: position encodings, text splitting, partial accepts.
-- Nothing here touches the editor, so test/unit.lua checks it directly.
local M = {}

--- Byte length of the UTF-8 sequence that starts with byte b.
local function seqlen(b)
  if b < 0x80 then
    return 1
  elseif b >= 0xF0 then
    return 4
  elseif b >= 0xE0 then
    return 3
  elseif b >= 0xC0 then
    return 2
  end
  return 1 -- stray continuation byte: count it alone
end

--- Units that one UTF-8 sequence of n bytes takes in an encoding.
local function units(n, encoding)
  if encoding == "utf-8" then
    return n
  elseif encoding == "utf-32" then
    return 1
  end
  return n == 4 and 2 or 1 -- utf-16: astral characters are surrogate pairs
end

--- Column in `encoding` units ("utf-8", "utf-16", "utf-32") of byte offset `col` (0-based) in `line`.
function M.to_units(line, col, encoding)
  encoding = encoding or "utf-16"
  if encoding == "utf-8" then
    return math.min(col, #line)
  end
  local i, u = 1, 0
  while i <= #line and i - 1 < col do
    local n = seqlen(line:byte(i))
    u = u + units(n, encoding)
    i = i + n
  end
  return u
end

--- Byte offset (0-based) of column `u` given in `encoding` units; clamped to the line.
--- A column inside a character (half a surrogate pair) rounds up to the character's end.
function M.from_units(line, u, encoding)
  encoding = encoding or "utf-16"
  if u <= 0 then
    return 0
  end
  if encoding == "utf-8" then
    return math.min(u, #line)
  end
  local i, acc = 1, 0
  while i <= #line and acc < u do
    local n = seqlen(line:byte(i))
    acc = acc + units(n, encoding)
    i = i + n
  end
  return math.min(i - 1, #line)
end

--- Length of text in `encoding` units.
function M.length(text, encoding)
  return M.to_units(text, #text, encoding)
end

--- Splits text on "\n" (keeping empty pieces); "\r\n" line ends lose the "\r".
function M.split_lines(text)
  local out = {}
  for piece in (text .. "\n"):gmatch("(.-)\n") do
    out[#out + 1] = (piece:gsub("\r$", ""))
  end
  return out
end

--- The next word of a suggestion (what "accept word" takes): leading blanks and newlines, then either a
--- run of identifier characters or a run of other non-blank characters. Non-ASCII bytes count as word bytes.
function M.next_word(rest)
  if rest == "" then
    return ""
  end
  local lead = rest:match("^%s*")
  local after = rest:sub(#lead + 1)
  local word = after:match("^[%w_\128-\255]+") or after:match("^[^%w_%s\128-\255]+") or ""
  return lead .. word
end

--- The next line of a suggestion (what "accept line" takes): up to, not including, the next newline;
--- when the suggestion continues on a new line, that newline and the following line.
function M.next_line(rest)
  if rest == "" then
    return ""
  end
  if rest:sub(1, 1) == "\n" then
    local nl = rest:find("\n", 2, true)
    return nl and rest:sub(1, nl - 1) or rest
  end
  local nl = rest:find("\n", 1, true)
  return nl and rest:sub(1, nl - 1) or rest
end

--- Replaces tabs by spaces for virtual text, which does not expand them; vcol is the display column
--- (0-based) where the text starts.
function M.expand_tabs(text, vcol, tabstop)
  tabstop = (tabstop and tabstop > 0) and tabstop or 8
  local out, col = {}, vcol or 0
  for ch in text:gmatch("[%z\1-\127\194-\244][\128-\191]*") do
    if ch == "\t" then
      local n = tabstop - (col % tabstop)
      out[#out + 1] = string.rep(" ", n)
      col = col + n
    else
      out[#out + 1] = ch
      col = col + 1
    end
  end
  return table.concat(out)
end

--- The text a snippet inserts when its tabstops are left as they are: escaped "\\", "$" and "}" become
--- themselves, "$1" and "${1}" nothing, "${1:text}" its placeholder text. dream-lsp sends multi-line
--- completion items as snippets only to escape them, so this is their exact text.
function M.snippet_text(value)
  local out, i, n = {}, 1, #value
  local depth = 0 -- inside ${N: ... } placeholders
  while i <= n do
    local c = value:sub(i, i)
    if c == "\\" and i < n and value:sub(i + 1, i + 1):match("[%$}\\]") then
      out[#out + 1] = value:sub(i + 1, i + 1)
      i = i + 2
    elseif c == "$" and value:sub(i + 1):match("^%d") then
      i = i + #value:sub(i + 1):match("^%d+") + 1
    elseif c == "$" and value:sub(i + 1):match("^{%d+}") then
      i = i + #value:sub(i + 1):match("^{%d+}") + 1
    elseif c == "$" and value:sub(i + 1):match("^{%d+:") then
      i = i + #value:sub(i + 1):match("^{%d+:") + 1
      depth = depth + 1
    elseif c == "}" and depth > 0 then
      depth = depth - 1
      i = i + 1
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
  return table.concat(out)
end

--- Turns an LSP InlineCompletionItem into a suggestion anchored at the cursor, or nil with a reason.
--- line: the cursor line's text; col: the cursor's byte column (0-based); encoding: the client's offset
--- encoding. The item's range must lie on the cursor line and contain the cursor, and its text must
--- start with what is already typed between the range start and the cursor (LSP 3.18's rule).
--- Returns { text = <whole insertText>, rest = <text still to insert at the cursor>, s = <range start byte>,
--- e = <range end byte> }.
function M.anchor(item, line, row, col, encoding)
  if type(item) ~= "table" then
    return nil, "not an item"
  end
  local text = item.insertText
  if type(text) == "table" then
    if type(text.value) ~= "string" then
      return nil, "snippet without a value"
    end
    text = M.snippet_text(text.value) -- tabstops are not kept: inserted as its plain text
  end
  if type(text) ~= "string" or text == "" then
    return nil, "empty insertText"
  end
  local s, e = col, col
  local r = item.range
  if type(r) == "table" and type(r.start) == "table" and type(r["end"]) == "table" then
    if r.start.line ~= row or r["end"].line ~= row then
      return nil, "range not on the cursor line"
    end
    s = M.from_units(line, r.start.character, encoding)
    e = M.from_units(line, r["end"].character, encoding)
    if s > col or e < col or s > e then
      return nil, "range does not contain the cursor"
    end
  end
  local typed = line:sub(s + 1, col)
  if text:sub(1, #typed) ~= typed then
    return nil, "text does not start with the typed prefix"
  end
  local rest = text:sub(#typed + 1)
  if rest == "" and e == col then
    return nil, "nothing to insert"
  end
  return { text = text, rest = rest, s = s, e = e }
end

--- Builds the chunks that show a suggestion at cursor column col of line (bytes), as
--- { first = <chunks for the cursor line>, lines = <list of chunk lists, one per virtual line>, inline = bool }.
--- With `inline_ok` (Neovim 0.10+) a one-line insertion that replaces nothing is shown inline; otherwise the
--- cursor line is drawn as an overlay of what it would become (ghost text, then the kept tail of the line,
--- padded to hide the characters being pushed away), and the further lines go in virt_lines.
function M.layout(sugg, line, col, opts)
  opts = opts or {}
  local ghost, normal = opts.hl or "DreamGhost", opts.normal_hl or "Normal"
  local ts = opts.tabstop or 8
  local lines = M.split_lines(sugg.rest)
  local tail = line:sub(sugg.e + 1)
  local start_vcol = opts.vcol or col
  if #lines == 1 and sugg.e == col and (opts.inline_ok or tail == "") then
    return { first = { { M.expand_tabs(lines[1], start_vcol, ts), ghost } }, lines = {}, inline = opts.inline_ok == true }
  end
  local covered = opts.width_after_cursor or #line:sub(col + 1)
  local first = {}
  local shown = 0
  local g = M.expand_tabs(lines[1], start_vcol, ts)
  if g ~= "" then
    first[#first + 1] = { g, ghost }
    shown = shown + (opts.strwidth or string.len)(g)
  end
  local out_lines = {}
  if #lines == 1 then
    local t = M.expand_tabs(tail, start_vcol + shown, ts)
    if t ~= "" then
      first[#first + 1] = { t, normal }
      shown = shown + (opts.strwidth or string.len)(t)
    end
  else
    for i = 2, #lines do
      local chunks = {}
      local l = M.expand_tabs(lines[i], 0, ts)
      chunks[#chunks + 1] = { l, ghost }
      if i == #lines and tail ~= "" then
        chunks[#chunks + 1] = { M.expand_tabs(tail, (opts.strwidth or string.len)(l), ts), normal }
      end
      out_lines[#out_lines + 1] = chunks
    end
  end
  if covered > shown then
    first[#first + 1] = { string.rep(" ", covered - shown), normal }
  end
  return { first = first, lines = out_lines, inline = false }
end

--- The LSP client log file (vim.lsp.log.get_filename on 0.10+; get_log_path, deprecated in 0.12, before).
function M.lsp_log_path()
  local log = vim.lsp.log
  if log and log.get_filename then
    return log.get_filename()
  end
  return vim.lsp.get_log_path()
end

return M

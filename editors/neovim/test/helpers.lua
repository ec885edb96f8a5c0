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

--- Prints the totals and exits Neovim with 0 when nothing failed.
function H.finish()
  io.stdout:write(string.format("%d passed, %d failed\n", H.passed, H.failed))
  io.stdout:flush()
  vim.cmd((H.failed == 0 and H.passed > 0) and "qall!" or "cquit! 1")
end

return H

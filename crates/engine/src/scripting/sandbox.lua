-- Flint's Lua sandbox, run once when a VM is created (chunk name "=[flint]"; the error handler
-- skips frames from this chunk, so users only ever see their own code's positions).
--
-- The wrapped builtins below are installed by Rust behind a C trampoline ("guard"), so that to
-- the user's code they are C functions as in Redis (no tail-call frame elimination, errors at
-- the caller's position). They signal errors by returning RAISE and a message (raised at the
-- caller's position, as luaL_error) or RAISE_RAW and a value (raised as is).
--
-- Redis 7.0 patches Lua so that tables can be made read-only; stock Lua cannot, so every
-- protected table (the globals and every library) is replaced by an empty proxy whose metatable
-- reads through to the real table and refuses writes. The functions that could see through a
-- proxy (next, pairs, ipairs, rawget, rawset, setmetatable, getmetatable, table.insert/remove/
-- sort) are wrapped so that they treat a proxy like the table it protects and never hand out the
-- real table. Errors use the same words and positions as Redis.
local real_G, RAISE, RAISE_RAW, is_killed = ...

local type, error, tostring, select, next, ipairs = type, error, tostring, select, next, ipairs
local rawget, rawset, setmetatable, getmetatable = rawget, rawset, setmetatable, getmetatable
local raw_pcall, raw_xpcall, raw_loadstring, unpack = pcall, xpcall, loadstring, unpack
local tinsert, tremove, tsort, tconcat = table.insert, table.remove, table.sort, table.concat
local sbyte = string.byte

local READONLY = 'Attempt to modify a readonly table'
local RO = setmetatable({}, {__mode = 'k'})    -- proxy -> protected table
local META = setmetatable({}, {__mode = 'k'})  -- proxy -> what getmetatable shows

local function ro_newindex() error(READONLY, 2) end

local function protect(t)
  local p = {}
  RO[p] = t
  setmetatable(p, {__index = t, __newindex = ro_newindex})
  return p
end

-- Redis's luaProtectedTableError: reading a missing global is an error.
local function missing_global(_, k)
  local tk = type(k)
  if tk ~= 'string' and tk ~= 'number' then
    error('Second argument to luaProtectedTableError must be a string or number', 2)
  end
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end

local function tname(n, ...)
  if select('#', ...) < n then return 'no value' end
  return type((select(n, ...)))
end

-- luaL_argerror's message.
local function argmsg(n, fname, msg) return 'bad argument #' .. n .. " to '" .. fname .. "' (" .. msg .. ')' end
-- luaL_checktype(n, LUA_TTABLE): the error message, or nil.
local function checktable(n, fname, ...)
  if select('#', ...) < n or type((select(n, ...))) ~= 'table' then
    return argmsg(n, fname, 'table expected, got ' .. tname(n, ...))
  end
end
local function checkany(n, fname, ...)
  if select('#', ...) < n then return argmsg(n, fname, 'value expected') end
end

local function w_next(...)
  local e = checktable(1, 'next', ...)
  if e then return RAISE, e end
  local t, k = ...
  return next(RO[t] or t, k)
end

local function w_pairs(...)
  local e = checktable(1, 'pairs', ...)
  if e then return RAISE, e end
  local t = ...
  if RO[t] then return real_G.next, t, nil end
  return next, t, nil
end

local function w_ipairs(...)
  local e = checktable(1, 'ipairs', ...)
  if e then return RAISE, e end
  local t = ...
  local real = RO[t]
  if not real then return ipairs(t) end
  return function(_, i)
    i = i + 1
    local v = real[i]
    if v == nil then return nil end
    return i, v
  end, t, 0
end

local function w_rawget(...)
  local e = checktable(1, 'rawget', ...) or checkany(2, 'rawget', ...)
  if e then return RAISE, e end
  local t, k = ...
  return rawget(RO[t] or t, k)
end

local function w_rawset(...)
  local e = checktable(1, 'rawset', ...) or checkany(2, 'rawset', ...) or checkany(3, 'rawset', ...)
  if e then return RAISE, e end
  local t, k, v = ...
  if RO[t] then return RAISE_RAW, READONLY end
  if k == nil then return RAISE_RAW, 'table index is nil' end
  if k ~= k then return RAISE_RAW, 'table index is NaN' end
  return rawset(t, k, v)
end

local function w_setmetatable(...)
  local t, mt = ...
  local tmt = type(mt)
  local e = checktable(1, 'setmetatable', ...)
  if e then return RAISE, e end
  if tmt ~= 'nil' and tmt ~= 'table' then return RAISE, argmsg(2, 'setmetatable', 'nil or table expected') end
  if RO[t] then return RAISE_RAW, READONLY end
  local ok = raw_pcall(setmetatable, t, mt)
  if not ok then return RAISE, 'cannot change a protected metatable' end
  return t
end

local string_mt = getmetatable('')

local function w_getmetatable(...)
  local e = checkany(1, 'getmetatable', ...)
  if e then return RAISE, e end
  local o = ...
  if RO[o] then return META[o] end
  if type(o) == 'string' then return META[string_mt] end
  return getmetatable(o)
end

local function guard_table_fn(fname, f)
  return function(...)
    local e = checktable(1, fname, ...)
    if e then return RAISE, e end
    if RO[(...)] then return RAISE_RAW, READONLY end
    return f(...)
  end
end

-- Binary chunks are refused, as Redis's patched Lua does.
local function w_loadstring(s, name)
  if type(s) == 'string' and sbyte(s, 1) == 27 then
    return nil, 'binary code not loaded'
  end
  return raw_loadstring(s, name)
end

local function w_load(...)
  local f, name = ...
  if type(f) ~= 'function' then
    return RAISE, argmsg(1, 'load', 'function expected, got ' .. tname(1, ...))
  end
  local parts = {}
  while true do
    local piece = f()
    if piece == nil or piece == '' then break end
    if type(piece) ~= 'string' then return nil, 'reader function must return a string' end
    parts[#parts + 1] = piece
  end
  return w_loadstring(tconcat(parts), name or '=(load)')
end

-- Redis's pcall returns the message of an error table (as scripts written for Redis < 7
-- expect a string). After SCRIPT KILL nothing may catch the kill.
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = ...
  if is_killed() then return RAISE_RAW, e end
  if type(e) == 'table' then
    local m = e.err
    if type(m) == 'string' or type(m) == 'number' then e = m end
  end
  return false, e
end
local function w_pcall(...)
  local e = checkany(1, 'pcall', ...)
  if e then return RAISE, e end
  return pcall_result(raw_pcall(...))
end
local function xpcall_result(ok, ...)
  if not ok and is_killed() then return RAISE_RAW, (...) end
  return ok, ...
end
local function w_xpcall(f, h)
  return xpcall_result(raw_xpcall(f, h))
end

-- Installed by Rust behind the guard trampoline.
local builtins = {
  next = w_next, pairs = w_pairs, ipairs = w_ipairs, rawget = w_rawget, rawset = w_rawset,
  setmetatable = w_setmetatable, getmetatable = w_getmetatable, loadstring = w_loadstring,
  load = w_load, pcall = w_pcall, xpcall = w_xpcall,
}
local table_builtins = {
  insert = guard_table_fn('insert', tinsert),
  remove = guard_table_fn('remove', tremove),
  sort = guard_table_fn('sort', tsort),
}

local helpers = {builtins = builtins, table_builtins = table_builtins}

-- Called by Rust once the libraries and the redis table are in place: protects everything.
function helpers.seal(redis_load)
  local libs = {'string', 'math', 'table', 'coroutine', 'bit', 'cjson', 'cmsgpack', 'struct', 'redis'}
  for _, name in ipairs(libs) do
    local t = rawget(real_G, name)
    if type(t) == 'table' then rawset(real_G, name, protect(t)) end
  end
  -- Methods on strings go through the protected string table.
  string_mt.__index = rawget(real_G, 'string')
  META[string_mt] = protect(string_mt)

  local G = {}
  RO[G] = real_G
  local gmt = {__index = real_G, __newindex = ro_newindex}
  setmetatable(G, gmt)
  META[G] = protect({__index = missing_global})
  setmetatable(real_G, {__index = missing_global})
  rawset(real_G, '_G', G)

  if redis_load then
    -- FUNCTION LOAD sees only a restricted redis table.
    setmetatable(redis_load, {__index = missing_global})
    local loadG = {redis = protect(redis_load)}
    setmetatable(loadG, {__index = missing_global})
    helpers.load_env = loadG
  end
  helpers.gmt = gmt
  return G
end

-- FUNCTION LOAD runs the library code with the restricted globals.
function helpers.set_load_mode(on)
  if on then helpers.gmt.__index = helpers.load_env else helpers.gmt.__index = real_G end
end

-- KEYS and ARGV of an EVAL.
function helpers.set_keys_argv(keys, argv)
  rawset(real_G, 'KEYS', keys)
  rawset(real_G, 'ARGV', argv)
end

-- Runs a script or function under the error handler; returns ok and the first result (or the
-- error object).
function helpers.run(f, handler, keys, args)
  if keys then
    return raw_xpcall(function() return f(keys, args) end, handler)
  end
  return raw_xpcall(f, handler)
end

return helpers

-- SPDX-License-Identifier: Apache-2.0
-- wrk script for the HTTP benchmark (scripts/bench.sh): each thread walks its share of the
-- pre-generated POST /v1/attest/sev-snp bodies (one per line, each with its own unused nonce),
-- sending every body exactly once. Responses are checked: HTTP 200 and the expected ear.status;
-- anything else counts as bad. If a thread runs out of bodies before the run ends, it resends
-- its last body (a replayed nonce, which the service answers with a contraindicated token) and
-- counts it as "exhausted": the run is then invalid and scripts/bench.sh says so.
--   wrk -t T ... -s bench/attest.lua URL -- BODIES_FILE EXPECTED_STATUS T

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

function init(args)
    local path, want, total = args[1], args[2], tonumber(args[3])
    expect = '"status":"' .. want .. '"'
    bodies, sent, bad, exhausted = {}, 0, 0, 0
    local i = 0
    local f = assert(io.open(path, "r"))
    for line in f:lines() do
        if i % total == id then
            bodies[#bodies + 1] = line
        end
        i = i + 1
    end
    f:close()
    nbodies = #bodies
    headers = { ["Content-Type"] = "application/json" }
end

function request()
    sent = sent + 1
    local b = bodies[sent]
    if b == nil then
        exhausted = exhausted + 1
        b = bodies[#bodies]
    end
    return wrk.format("POST", "/v1/attest/sev-snp", headers, b)
end

function response(status, hdrs, body)
    if status ~= 200 or not string.find(body, expect, 1, true) then
        bad = bad + 1
        if bad <= 3 then
            io.stderr:write("bench: unexpected response " .. status .. ": " ..
                string.sub(body, 1, 300) .. "\n")
        end
    end
end

function done(summary, latency, requests)
    local bad_total, exhausted_total, bodies_total = 0, 0, 0
    for _, t in ipairs(threads) do
        bad_total = bad_total + t:get("bad")
        exhausted_total = exhausted_total + t:get("exhausted")
        bodies_total = bodies_total + t:get("nbodies")
    end
    io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d bad=%d " ..
        "exhausted=%d bodies=%d errors=%d\n",
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
        bad_total, exhausted_total, bodies_total,
        summary.errors.connect + summary.errors.read + summary.errors.write +
        summary.errors.timeout))
end

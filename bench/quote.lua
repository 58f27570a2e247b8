-- wrk script: POST a 5-line landed-cost quote (China, cross-border retail and general trade
-- lines, rates looked up from the store).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[
{"date": "2026-09-03", "destination": "CN", "incoterm": "DDP", "currency": "USD",
 "freight": {"amount": "40.00", "currency": "USD"},
 "lines": [
  {"hs": "0904.21", "origin": "RW", "quantity": {"value": "2", "unit": "kg"}, "unit_value": {"amount": "15.00", "currency": "USD"}},
  {"hs": "0901.21", "origin": "RW", "quantity": {"value": "3", "unit": "kg"}, "unit_value": {"amount": "22.00", "currency": "USD"}},
  {"hs": "0810.90.30", "origin": "KH", "quantity": {"value": "4", "unit": "kg"}, "unit_value": {"amount": "6.00", "currency": "USD"}},
  {"hs": "0809.29", "origin": "CA", "quantity": {"value": "2", "unit": "kg"}, "unit_value": {"amount": "18.00", "currency": "USD"}},
  {"hs": "0804.40", "origin": "MX", "quantity": {"value": "5", "unit": "kg"}, "unit_value": {"amount": "4.00", "currency": "USD"}}
 ]}
]]

done = function(summary, latency, requests)
  io.write(string.format("non-2xx or errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end

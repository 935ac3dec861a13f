# The similarity index at 10k, 100k and 1M stored scenarios, and start-up.
"$SCEN_BUILD/bench/bench_lookup"

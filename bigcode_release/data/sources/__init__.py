"""Where the code comes from: installed distributions, a folder of checkouts, Stack-schema data."""

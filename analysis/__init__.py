"""Runs → pandas → the paper's tables, quadratic fits and plots.

Everything here reads only the run-directory contract, through `spaced_kd.rundir` (`.hydra/`,
`metrics.jsonl`, `summary.json`, optional `probes.json`), never the training code, so it works on
runs copied from any machine and can be tested on run directories written by the tests
themselves. See docs/analysis.md.

    collect.collect(roots)          → one row per run (tidy DataFrame)
    select.main_runs(df)            → each row / network held at its default settings
    tables.build_table(df, 6)       → a paper table (cells + md / latex / csv rendering);
                                      the tables themselves are data in catalogue.SPECS;
                                      tables.build_tables(df, 6, paper=True): the paper's recipe
                                      beside the paper's values, other recipes in tables of their own
    fits.fit_intervals(df)          → Fig. 2c quadratic fits with a seed-bootstrap CI
    plots.plot_all(df, out_dir)     → the paper's figures as PNG + PDF
    compare.compare(df, a, b)       → paired b − a per group (mean, t and bootstrap intervals, wins)
"""

"""The scripts that write the reports in `reports/`, each run from the repository root as
`python -m benchmarks.NAME` (`--help` lists its flags):

- `baseline`: the training harness against nanoGPT's Tiny Shakespeare run (reports/baseline.md)
- `mixers`: forward+backward time of each token mixer against attention (reports/mixers.md)
- `embeddings`: parameters, head FLOPs and basis conditioning of the embeddings
- `ray_throughput`: evaluations per hour and Ray's overhead per evaluation (reports/ray.md)
- `presets`: how long the `smoke`, `tiny` and `small` presets take
- `proxy_budget`: the `tiny` preset's proxy budget: its learning rate and its ranking
- `fidelity`: which proxy ranks genomes as longer training does
- `multifidelity`: the fidelity ladder against a single-fidelity search at equal CPU-seconds
- `nsga2`: NSGA-II's mating and variation against pymoo's, and the search loop's own cost
- `strategies`: every search strategy's front at equal evaluations and CPU-seconds
- `latency`: how much a journaled generation latency moves between runs and under load
- `recall`: whether the MQAR probe (`model.recall`) separates attention from the FFT mixers
- `frontier`: evolved models against a transformer ladder at equal FLOPs, and at scale (its
  parts in `frontier_plan`, `frontier_train`, `frontier_scale`, `frontier_measure`,
  `frontier_report` and `frontier_scale_report`)

Two modules serve the others: `common` (paths, nanoGPT's anchor, the machine header) and
`harness` (one search arm run to its stop, for comparisons at equal cost).
"""

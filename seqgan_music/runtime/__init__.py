"""The machine the code runs on: CPU threads (`threads`), the allocator's memory return policy
(`allocator`) and data-parallel processes (`distributed`: ranks, process groups, the local share
of a batch and the reductions, in this one module). Imports nothing of the package but
`errors`; the algorithm (`core`) and the trainer ask it.
"""

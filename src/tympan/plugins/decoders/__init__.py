"""First-party decoders: CTC greedy and beam search (lexicon, n-gram LM, hotwords), RNN-T greedy and beam
search, word alignment and the WER / CER metrics.

Decoders register as ``decoder:*`` components; the metrics are re-exported by ``tympan.metrics``.

Example:
    >>> import torch
    >>> from tympan import registry
    >>> decoder = registry.create("decoder:ctc_greedy", tokens=["-", "|", "a"])
    >>> decoder(torch.tensor([[[0.0, -9.0, -9.0], [-9.0, -9.0, 0.0]]]))[0][0].words
    ['a']
"""

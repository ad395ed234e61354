"""The code tokenizer and the tokenized shards: train a byte-level BPE on the dataset, write
datatrove's `.ds` format, read and validate it, and let nanotron's `Nanoset` read it."""

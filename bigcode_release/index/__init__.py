"""Data inspection and membership: a BM25 search index, byte-level suffix arrays that attribute any
text to the documents it occurs in, and a Bloom "portrait" for offline yes/no checks."""

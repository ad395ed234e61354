"""The release documents itself: the Foundation Model Transparency Index's 100 indicators, each
filled from what the pipeline measured, by a confirmed human statement, or reported as missing."""

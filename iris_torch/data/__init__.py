"""Reading and preparing data.

    read.py     reading and checking a CSV: every data error, one line each (no torch)
    prepare.py  the checked table as tensors: load_csv, load_iris, one_hot, split, Standardizer

Nothing is imported here, so that the command line can check a file before it imports torch.
"""

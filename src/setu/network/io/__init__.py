"""Readers and writers of network files: Setu workbook/CSV, accelerator JSON, Willems chains."""

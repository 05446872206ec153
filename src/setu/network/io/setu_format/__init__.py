"""Setu's own network format: one .xlsx workbook with a sheet per table, or a folder with a CSV file per table."""

from setu.network.io.setu_format.build import read_csv_folder, read_setu, read_workbook
from setu.network.io.setu_format.tables import OPTIONAL_TABLES, REQUIRED_TABLES, TABLES, WORKBOOK_SUFFIXES, Column
from setu.network.io.setu_format.writer import template_network, write_setu, write_template

__all__ = [
    "OPTIONAL_TABLES",
    "REQUIRED_TABLES",
    "TABLES",
    "WORKBOOK_SUFFIXES",
    "Column",
    "read_csv_folder",
    "read_setu",
    "read_workbook",
    "template_network",
    "write_setu",
    "write_template",
]

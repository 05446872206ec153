"""The supply-network model, its compilation into arrays and its file formats."""

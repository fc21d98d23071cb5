"""The pure clinical core: values in, values out; no database, web, files or clock."""

-- A quote's output (about 10–16 KB of JSON) is kept compressed (LZ4, its length first): stored
-- at every quote, it was most of the pages each commit wrote. `output` stays for the rows
-- written before, and is empty in the rows written since.
ALTER TABLE quotes ADD COLUMN output_lz4 BLOB;

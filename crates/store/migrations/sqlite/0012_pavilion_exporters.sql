-- A pavilion's approved exporters, kept by the writes that change them (an application's status,
-- a seller's country, the pavilion's creation) instead of counted on every read of its page:
-- counting scanned every approved application, 6.6 ms per read at 5,000 exporters.
ALTER TABLE pavilions ADD COLUMN approved_exporters BIGINT NOT NULL DEFAULT 0;
UPDATE pavilions SET approved_exporters = (
    SELECT COUNT(DISTINCT a.seller_id) FROM seller_applications a
    JOIN application_channels c ON c.application_id = a.id
    JOIN organisations o ON o.id = a.seller_id
    WHERE a.status = 'approved' AND c.channel = pavilions.channel AND o.country = pavilions.country
);

-- A command that appends events is recorded on its first event (`command_id`, and
-- `command_events`, the number of events it appended) instead of in a `commands` row of
-- its own: the partial unique index below is the idempotency key, so an append no longer
-- writes a second heap row and index entry. `commands` keeps only commands that appended
-- nothing (an empty batch has no event to carry its id). Existing records move over.

ALTER TABLE events ADD COLUMN command_id uuid, ADD COLUMN command_events int;

UPDATE events e
SET command_id = c.command_id,
    command_events = (c.last_version - c.first_version + 1)::int
FROM commands c
WHERE c.last_version >= c.first_version
  AND e.stream_id = c.stream_id
  AND e.stream_version = c.first_version;

DELETE FROM commands WHERE last_version >= first_version;

CREATE UNIQUE INDEX events_command_id_key ON events (command_id) WHERE command_id IS NOT NULL;

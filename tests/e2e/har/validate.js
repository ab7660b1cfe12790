// Validate a HAR file against the HAR 1.2 JSON Schema (har-validator / har-schema).
// usage: node validate.js FILE.har   -> prints {"valid":true,"entries":N} or the errors; exit 1 when invalid.
const fs = require('fs');
const validator = require('har-validator');

const doc = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
validator.har(doc)
  .then(() => console.log(JSON.stringify({ valid: true, entries: doc.log.entries.length })))
  .catch((e) => {
    console.log(JSON.stringify({ valid: false, errors: e.errors || String(e) }));
    process.exit(1);
  });

// Streamed import of large plain text and Markdown files in bounded memory: a first
// pass hashes the bytes and checks their encoding, a second decodes them piece by piece,
// cuts the text into blocks at paragraph breaks, detects chapters and passages in each
// block and stores the passages in batches through one storage::DocumentWriter (one
// transaction: a failure or cancel stores nothing). Memory is a few blocks, whatever the
// file's size.
#pragma once

#include "storage/import/importer.h"
#include "storage/import/text_reader.h"

namespace mm::import {

/// UTF-16 units per block (about 8 MB of QString); chapters and the contents-list
/// heuristics see one block at a time.
constexpr qsizetype kStreamBlockChars = 4 * 1024 * 1024;

ImportResult importStreamedText(storage::Database& db, const QString& path, const TextReaderBase& reader,
                                const ImportOptions& options);

}  // namespace mm::import

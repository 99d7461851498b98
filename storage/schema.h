// The library schema as an ordered list of migration steps. Step k takes a database
// from PRAGMA user_version k to k+1 inside one write transaction, so a failed step
// leaves the file exactly as it was. Steps are only ever appended, never edited: a
// shipped step is history (see docs/storage.md, "Migrations").
#pragma once

#include <vector>

struct sqlite3;

namespace mm::storage {

struct MigrationStep {
    int fromVersion;  ///< the step runs on a database at this user_version
    const char* sql;  ///< one or more statements
};

/// This build's steps, in order; kSchemaVersion == migrationSteps().size().
const std::vector<MigrationStep>& migrationSteps();

/// Runs every step whose fromVersion >= the file's user_version, each in its own
/// BEGIN IMMEDIATE transaction that re-reads user_version first (another process may
/// have migrated meanwhile) and ends by setting user_version and application_id.
/// Throws StorageError naming the failed step.
void migrate(sqlite3* db, const std::vector<MigrationStep>& steps, int applicationId);

}  // namespace mm::storage

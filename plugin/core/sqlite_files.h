// The SQLite store's files hold PHI: they are kept private to the user running Countersign, and
// one serving instance (the daemon) holds a file lock for as long as it serves them.
//
// Threading: plain functions; an InstanceLock belongs to one store.
#pragma once

#include <memory>
#include <string>

#include "fhir/status.h"

namespace countersign::core::sqlite {

// Before the database at `path` is opened (and created): refuses (kIoError naming the fix) a
// directory that group or others may write to without the sticky bit (they could swap the files);
// in a sticky shared directory such as /tmp, refuses files and symlinks that another user
// created in advance. Creates the database file with mode 0600 when missing (SQLite gives its
// -wal and -shm the database's mode), and narrows an existing database, -wal and -shm to 0600.
Status SecureStoreFiles(const std::string& path);

// An exclusive advisory lock (flock) on "<path>.lock" (mode 0600, holding the owner's pid),
// released when the lock is destroyed or the process ends, even by SIGKILL.
class InstanceLock {
 public:
  // kIllegalState when another process or store object holds it, naming that pid.
  static Result<std::unique_ptr<InstanceLock>> Acquire(const std::string& db_path);
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

 private:
  explicit InstanceLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace countersign::core::sqlite

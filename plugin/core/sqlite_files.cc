#include "plugin/core/sqlite_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace countersign::core::sqlite {
namespace {

constexpr mode_t kPrivate = S_IRUSR | S_IWUSR;

std::string Mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// One existing file of the store: ours (in a shared directory), a regular file, then 0600.
Status Secure(const std::string& file, bool shared_dir) {
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::IoError(Errno("cannot inspect " + file));
  }
  if (shared_dir && (S_ISLNK(st.st_mode) || st.st_uid != ::geteuid())) {
    return Status::IoError(file + " was created by another user in a shared directory; "
                           "refusing to keep patient data in it (move the store to a private "
                           "directory)");
  }
  if ((st.st_mode & 077) == 0 || S_ISLNK(st.st_mode)) return Status::Ok();
  if (::chmod(file.c_str(), kPrivate) != 0) {
    return Status::IoError(Errno("the store file " + file + " is readable by others (mode " +
                                 Mode(st.st_mode) + ") and cannot be made private; chmod 600 it"));
  }
  return Status::Ok();
}

}  // namespace

Status SecureStoreFiles(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  struct stat ds {};
  if (::stat(dir.c_str(), &ds) != 0) {
    return Status::IoError(Errno("store directory " + dir.string()));
  }
  const bool others_write = (ds.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  const bool sticky = (ds.st_mode & S_ISVTX) != 0;
  if (others_write && !sticky) {
    return Status::IoError("the store directory " + dir.string() + " is writable by others (mode " +
                           Mode(ds.st_mode) + "): they could replace the patient data; "
                           "chmod go-w it or choose another directory");
  }
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    CS_RETURN_IF_ERROR(Secure(path + suffix, others_write));
  }
  // Created here, not by SQLite, so it is private from the first byte whatever the umask;
  // O_EXCL: a file that appeared since the check above is not adopted.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, kPrivate);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    return Status::IoError(Errno("cannot create " + path));
  }
  return Status::Ok();
}

Result<std::unique_ptr<InstanceLock>> InstanceLock::Acquire(const std::string& db_path) {
  const std::string path = db_path + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kPrivate);
  if (fd < 0) return Status::IoError(Errno("cannot open the lock file " + path));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    char buf[32] = {0};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    if (e != EWOULDBLOCK) {
      errno = e;
      return Status::IoError(Errno("cannot lock " + path));
    }
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Status::IllegalState("the store " + db_path + " is already served by another " +
                                "countersign instance" +
                                (holder.empty() ? std::string() : " (pid " + holder + ")") +
                                "; stop it first (admin commands with --config still work)");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The pid is only for the message a second instance prints; the lock itself is held.
  }
  return std::unique_ptr<InstanceLock>(new InstanceLock(fd));
}

InstanceLock::~InstanceLock() { ::close(fd_); }

}  // namespace countersign::core::sqlite

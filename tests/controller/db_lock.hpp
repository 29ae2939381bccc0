// Another SQLite connection on the controller's journal file, for holding
// its write lock (the controller's commits then wait, as behind a slow
// disk) or for changing the file under it. Real SQLite, no stand-in.
#pragma once

#include <sqlite3.h>

#include <stdexcept>
#include <string>

namespace migclock::controller::testing {

class DbConnection {
 public:
  explicit DbConnection(const std::string& db_file) {
    if (sqlite3_open(db_file.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("open " + db_file);
  }
  ~DbConnection() {
    if (locked_) exec("ROLLBACK");
    sqlite3_close(db_);
  }
  DbConnection(const DbConnection&) = delete;
  DbConnection& operator=(const DbConnection&) = delete;

  // Takes the write lock: commits of other connections wait (up to their
  // busy timeout) until release().
  void hold_write_lock() {
    exec("BEGIN IMMEDIATE");
    locked_ = true;
  }
  void release() {
    if (locked_) exec("ROLLBACK");
    locked_ = false;
  }
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(sql + ": " + msg);
    }
  }
  long long count(const std::string& table) {
    sqlite3_stmt* st = nullptr;
    long long n = -1;
    if (sqlite3_prepare_v2(db_, ("SELECT count(*) FROM " + table).c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
  }

 private:
  sqlite3* db_ = nullptr;
  bool locked_ = false;
};

}  // namespace migclock::controller::testing

// SQLite journal: WAL + synchronous=FULL, so a commit that returned is on
// disk (WAL fsynced) and survives kill -9 and power loss; readers never
// block the writer. One table per record kind, (key → json, blob).
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "migclock/controller/store.hpp"

namespace migclock::controller {

const char* table_name(Table t) {
  switch (t) {
    case Table::hosts: return "hosts";
    case Table::vms: return "vms";
    case Table::migrations: return "migrations";
    case Table::snapshots: return "snapshots";
    case Table::offsets: return "offsets";
    case Table::commands: return "commands";
    case Table::tokens: return "tokens";
  }
  return "unknown";
}

namespace {

constexpr Table kTables[] = {Table::hosts,   Table::vms,      Table::migrations, Table::snapshots,
                             Table::offsets, Table::commands, Table::tokens};

struct Db {
  sqlite3* db = nullptr;
  ~Db() {
    if (db) sqlite3_close_v2(db);
  }
};

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() {
    if (s) sqlite3_finalize(s);
  }
};

Error sql_error(sqlite3* db, const std::string& what) {
  return make_error(errc::io_error, "sqlite " + what + ": " + (db ? sqlite3_errmsg(db) : "no database"));
}

Status exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    return make_error(errc::io_error, std::string("sqlite: ") + sql + ": " + msg);
  }
  return {};
}

Status open_db(const std::string& path, Db& out) {
  if (sqlite3_open_v2(path.c_str(), &out.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return sql_error(out.db, "open " + path);
  sqlite3_busy_timeout(out.db, 5000);
  MIGCLOCK_TRY(exec(out.db, "PRAGMA journal_mode=WAL"));
  MIGCLOCK_TRY(exec(out.db, "PRAGMA synchronous=FULL"));
  MIGCLOCK_TRY(exec(out.db, "PRAGMA foreign_keys=OFF"));
  return {};
}

class SqliteStore final : public Store {
 public:
  Status open(const std::string& dir) {
    ::mkdir(dir.c_str(), 0700);
    std::string path = dir + "/controller.db";
    MIGCLOCK_TRY(restrict_files(path));
    MIGCLOCK_TRY(open_db(path, writer_));
    for (Table t : kTables) {
      std::string sql = std::string("CREATE TABLE IF NOT EXISTS ") + table_name(t) +
                        " (key TEXT PRIMARY KEY, json TEXT NOT NULL, blob BLOB)";
      MIGCLOCK_TRY(exec(writer_.db, sql.c_str()));
    }
    MIGCLOCK_TRY(open_db(path, reader_));
    return {};
  }

  Status commit(const std::vector<Record>& records) override {
    if (records.empty()) return {};
    std::lock_guard<std::mutex> lock(write_mutex_);
    MIGCLOCK_TRY(exec(writer_.db, "BEGIN IMMEDIATE"));
    for (const auto& r : records) {
      auto st = put(r);
      if (!st.ok()) {
        (void)exec(writer_.db, "ROLLBACK");
        return st;
      }
    }
    auto st = exec(writer_.db, "COMMIT");
    if (!st.ok()) (void)exec(writer_.db, "ROLLBACK");
    return st;
  }

  Result<std::vector<Record>> load(Table table) override {
    std::lock_guard<std::mutex> lock(read_mutex_);
    std::vector<Record> out;
    Stmt st;
    std::string sql = std::string("SELECT key, json FROM ") + table_name(table) + " ORDER BY key";
    if (sqlite3_prepare_v2(reader_.db, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK)
      return sql_error(reader_.db, "prepare load");
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
      Record r;
      r.table = table;
      r.key = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
      r.json = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 1));
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return sql_error(reader_.db, "load");
    return out;
  }

  Result<std::optional<Record>> get(Table table, const std::string& key) override {
    std::lock_guard<std::mutex> lock(read_mutex_);
    Stmt st;
    std::string sql = std::string("SELECT json, blob FROM ") + table_name(table) + " WHERE key = ?";
    if (sqlite3_prepare_v2(reader_.db, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK)
      return sql_error(reader_.db, "prepare get");
    sqlite3_bind_text(st.s, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    int rc = sqlite3_step(st.s);
    if (rc == SQLITE_DONE) return std::optional<Record>{};
    if (rc != SQLITE_ROW) return sql_error(reader_.db, "get");
    Record r;
    r.table = table;
    r.key = key;
    r.json = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
    if (const void* b = sqlite3_column_blob(st.s, 1))
      r.blob.assign(static_cast<const char*>(b), static_cast<size_t>(sqlite3_column_bytes(st.s, 1)));
    return std::optional<Record>(std::move(r));
  }

 private:
  // The journal holds token hashes and snapshots: owner only. SQLite gives
  // the -wal/-shm files it creates the database file's mode, so creating
  // that one 0600 covers all three. Files an older version left readable
  // are tightened where we own them (best effort: root running `token
  // create` on the service's files may, another user may not).
  static Status restrict_files(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return errno_error(errno, "create " + path);
    (void)::fchmod(fd, 0600);
    ::close(fd);
    for (const char* suffix : {"-wal", "-shm"}) (void)::chmod((path + suffix).c_str(), 0600);
    return {};
  }

  Status put(const Record& r) {
    Stmt st;
    if (r.erase) {
      std::string sql = std::string("DELETE FROM ") + table_name(r.table) + " WHERE key = ?";
      if (sqlite3_prepare_v2(writer_.db, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK)
        return sql_error(writer_.db, "prepare delete");
      sqlite3_bind_text(st.s, 1, r.key.data(), static_cast<int>(r.key.size()), SQLITE_STATIC);
      if (sqlite3_step(st.s) != SQLITE_DONE) return sql_error(writer_.db, std::string("delete ") + table_name(r.table));
      return {};
    }
    std::string sql = std::string("INSERT OR REPLACE INTO ") + table_name(r.table) + " (key, json, blob) VALUES (?, ?, ?)";
    if (sqlite3_prepare_v2(writer_.db, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK)
      return sql_error(writer_.db, "prepare put");
    sqlite3_bind_text(st.s, 1, r.key.data(), static_cast<int>(r.key.size()), SQLITE_STATIC);
    sqlite3_bind_text(st.s, 2, r.json.data(), static_cast<int>(r.json.size()), SQLITE_STATIC);
    if (r.blob.empty()) sqlite3_bind_null(st.s, 3);
    else sqlite3_bind_blob(st.s, 3, r.blob.data(), static_cast<int>(r.blob.size()), SQLITE_STATIC);
    if (sqlite3_step(st.s) != SQLITE_DONE) return sql_error(writer_.db, std::string("put ") + table_name(r.table));
    return {};
  }

  Db writer_, reader_;
  std::mutex write_mutex_, read_mutex_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& dir) {
  auto s = std::make_unique<SqliteStore>();
  MIGCLOCK_TRY(s->open(dir));
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace migclock::controller

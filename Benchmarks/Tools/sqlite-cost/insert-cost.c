// Inserts engine-shaped journal rows (one entry with two pending grants) into a schema read from a file,
// with the store's pragmas (WAL, synchronous=FULL, foreign keys), in transactions of 1,000 entries.
// cc -O2 -o insert-cost insert-cost.c -lsqlite3; ./insert-cost SCHEMA.sql [ENTRIES] [BATCH] [PRAGMAS]
// Environment: ROUNDS, MULTI (rows per statement; 0 = one per statement), NOTRIG (triggers off on the
// connection), PREFILL (entries appended before timing), MEMBERS (beneficiaries), STRKEY (text keys).

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static sqlite3 *db;
static void die(const char *what) { fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db)); exit(1); }
static void exec(const char *sql) { char *m = 0; if (sqlite3_exec(db, sql, 0, 0, &m) != SQLITE_OK) { fprintf(stderr, "%s: %s\n", sql, m); exit(1); } }
static sqlite3_stmt *prep(const char *sql) { sqlite3_stmt *s; if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, 0) != SQLITE_OK) die(sql); return s; }
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
static char *readfile(const char *p) { FILE *f = fopen(p, "rb"); if (!f) { perror(p); exit(1); } fseek(f, 0, SEEK_END); long n = ftell(f); rewind(f); char *b = malloc(n + 1); fread(b, 1, n, f); b[n] = 0; fclose(f); return b; }
static void run(sqlite3_stmt *s) { int r = sqlite3_step(s); if (r != SQLITE_DONE) die("step"); sqlite3_reset(s); }

int main(int argc, char **argv) {
    const char *schema = argc > 1 ? argv[1] : "schema_v1.sql";
    int entries = argc > 2 ? atoi(argv[2]) : 20000;
    int batch = argc > 3 ? atoi(argv[3]) : 1000;
    const char *pragmas = argc > 4 ? argv[4] : "";
    int rounds = getenv("ROUNDS") ? atoi(getenv("ROUNDS")) : 3;
    int members = getenv("MEMBERS") ? atoi(getenv("MEMBERS")) : 20000;
    int prefill = getenv("PREFILL") ? atoi(getenv("PREFILL")) : 0;
    int noclear = getenv("NOCLEAR") != 0;
    int strkey = getenv("STRKEY") != 0;
    unsigned char command[71], outcome[116];
    for (int i = 0; i < 71; i++) command[i] = i * 7; for (int i = 0; i < 116; i++) outcome[i] = i * 3;
    double bestWall = 1e30, bestCPU = 1e30;
    for (int round = 0; round < rounds; round++) {
        char path[] = "/tmp/insert-cost-XXXXXX"; int fd = mkstemp(path); close(fd); unlink(path);
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, 0) != SQLITE_OK) die("open"); if (getenv("LOOKASIDE")) sqlite3_db_config(db, SQLITE_DBCONFIG_LOOKASIDE, NULL, atoi(getenv("LOOKASIDE")), 500);
        exec("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
        exec(pragmas);
        exec("BEGIN IMMEDIATE"); exec(readfile(schema)); exec("COMMIT"); if (getenv("NOTRIG")) { int now = -1; sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &now); if (now != 0) { fprintf(stderr, "triggers still on\n"); exit(1); } }
        sqlite3_stmt *begin = prep("BEGIN IMMEDIATE"), *commit = prep("COMMIT");
        sqlite3_stmt *last = prep("SELECT ifnull(max(sequence), 0) FROM journal");
        sqlite3_stmt *lastT = prep("SELECT ifnull(max(id), 0) FROM transfers");
        sqlite3_stmt *ie = prep("INSERT INTO journal (sequence, idempotency_key, payload_digest, command, outcome) VALUES (?1, ?2, ?3, ?4, ?5)");
        sqlite3_stmt *it = prep("INSERT INTO transfers (id, entry, kind, resolves, key_operation, key_campaign, key_rule, key_beneficiary, key_source, key_part, debit_owner, debit_owner_id, credit_owner, credit_owner_id, unit, unit_currency, unit_minor_digits, unit_sku, amount, command, rule, rule_version, at, hold_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)");
        int k = getenv("MULTI") ? atoi(getenv("MULTI")) : 0; int kk0 = k ? k : 1;
        char *sqlE = malloc(1 << 20), *sqlT = malloc(1 << 22);
        strcpy(sqlE, "INSERT INTO journal (sequence, idempotency_key, payload_digest, command, outcome) VALUES ");
        for (int r = 0; r < kk0; r++) sprintf(sqlE + strlen(sqlE), "%s(?%d, ?%d, ?%d, ?%d, ?%d)", r ? ", " : "", r*5+1, r*5+2, r*5+3, r*5+4, r*5+5);
        strcpy(sqlT, "INSERT INTO transfers (id, entry, kind, resolves, key_operation, key_campaign, key_rule, key_beneficiary, key_source, key_part, debit_owner, debit_owner_id, credit_owner, credit_owner_id, unit, unit_currency, unit_minor_digits, unit_sku, amount, command, rule, rule_version, at, hold_until) VALUES ");
        for (int r = 0; r < 2 * kk0; r++) { strcat(sqlT, r ? ", (" : "("); for (int c = 1; c <= 24; c++) sprintf(sqlT + strlen(sqlT), "%s?%d", c > 1 ? ", " : "", r * 24 + c); strcat(sqlT, ")"); }
        sqlite3_stmt *ieK = prep(sqlE), *itK = prep(sqlT);
        long seq = 0, tid = 0; unsigned rng = 6;
        int total = prefill + entries; double w0 = 0, c0 = 0;
        for (int start = 0; start < total; start += batch) {
            if (start == prefill) { w0 = now(CLOCK_MONOTONIC); c0 = now(CLOCK_PROCESS_CPUTIME_ID); }
            run(begin);
            sqlite3_step(last); sqlite3_reset(last);
            sqlite3_step(lastT); sqlite3_reset(lastT);
            int stop = start + batch < total ? start + batch : total;
            if (k == 0) for (int i = start; i < stop; i++) {
                seq++;
                if (!noclear) sqlite3_clear_bindings(ie);
                sqlite3_bind_int64(ie, 1, seq);
                if (strkey) { char kk[32]; int n = snprintf(kk, 32, "order-%ld:paid", seq * 7919 % 1000003); sqlite3_bind_text(ie, 2, kk, n, SQLITE_TRANSIENT); }
                else sqlite3_bind_int64(ie, 2, seq);
                sqlite3_bind_int64(ie, 3, seq * 2654435761u);
                sqlite3_bind_blob(ie, 4, command, 71, SQLITE_TRANSIENT);
                sqlite3_bind_blob(ie, 5, outcome, 116, SQLITE_TRANSIENT);
                run(ie);
                for (int part = 1; part <= 2; part++) {
                    tid++; rng = rng * 1103515245 + 12345; int member = (rng >> 8) % members;
                    sqlite3_stmt *t = it; int b = 0;
                    if (!noclear) sqlite3_clear_bindings(t);
                    sqlite3_bind_int64(t, b+1, tid); sqlite3_bind_int64(t, b+2, seq);
                    sqlite3_bind_text(t, b+3, "pending", 7, SQLITE_TRANSIENT);
                    sqlite3_bind_text(t, b+5, "grant", 5, SQLITE_TRANSIENT);
                    sqlite3_bind_int64(t, b+6, 1); sqlite3_bind_int64(t, b+7, 1); sqlite3_bind_int64(t, b+8, member);
                    sqlite3_bind_int64(t, b+9, seq); sqlite3_bind_int64(t, b+10, part);
                    sqlite3_bind_text(t, b+11, "budget", 6, SQLITE_TRANSIENT); sqlite3_bind_int64(t, b+12, 1);
                    sqlite3_bind_text(t, b+13, "wallet", 6, SQLITE_TRANSIENT); sqlite3_bind_int64(t, b+14, member);
                    sqlite3_bind_text(t, b+15, "money", 5, SQLITE_TRANSIENT); sqlite3_bind_text(t, b+16, "CNY", 3, SQLITE_TRANSIENT);
                    sqlite3_bind_int64(t, b+17, 2);
                    sqlite3_bind_int64(t, b+19, 1000 + (rng % 900)); sqlite3_bind_int64(t, b+20, seq);
                    sqlite3_bind_int64(t, b+21, 1); sqlite3_bind_int64(t, b+22, 1);
                    sqlite3_bind_int64(t, b+23, 1800086400000LL); sqlite3_bind_int64(t, b+24, 1800691200000LL);
                    run(t);
                }
            }
            else
            for (int i = start; i < stop; ) {
                int rows = (stop - i >= k) ? k : 1;
                sqlite3_stmt *e = rows == k ? ieK : ie, *t = rows == k ? itK : it;
                if (!noclear) { sqlite3_clear_bindings(e); sqlite3_clear_bindings(t); }
                for (int r = 0; r < rows; r++) {
                    seq++; int o = r * 5;
                    sqlite3_bind_int64(e, o+1, seq);
                    if (strkey) { char kk[32]; int n = snprintf(kk, 32, "order-%ld:paid", seq * 7919 % 1000003); sqlite3_bind_text(e, o+2, kk, n, SQLITE_TRANSIENT); }
                    else sqlite3_bind_int64(e, o+2, seq);
                    sqlite3_bind_int64(e, o+3, seq * 2654435761u);
                    sqlite3_bind_blob(e, o+4, command, 71, SQLITE_TRANSIENT);
                    sqlite3_bind_blob(e, o+5, outcome, 116, SQLITE_TRANSIENT);
                    for (int part = 1; part <= 2; part++) {
                        tid++; rng = rng * 1103515245 + 12345; int member = (rng >> 8) % members;
                        int b = (r * 2 + part - 1) * 24;
                        sqlite3_bind_int64(t, b+1, tid); sqlite3_bind_int64(t, b+2, seq);
                        sqlite3_bind_text(t, b+3, "pending", 7, SQLITE_TRANSIENT);
                        sqlite3_bind_text(t, b+5, "grant", 5, SQLITE_TRANSIENT);
                        sqlite3_bind_int64(t, b+6, 1); sqlite3_bind_int64(t, b+7, 1); sqlite3_bind_int64(t, b+8, member);
                        sqlite3_bind_int64(t, b+9, seq); sqlite3_bind_int64(t, b+10, part);
                        sqlite3_bind_text(t, b+11, "budget", 6, SQLITE_TRANSIENT); sqlite3_bind_int64(t, b+12, 1);
                        sqlite3_bind_text(t, b+13, "wallet", 6, SQLITE_TRANSIENT); sqlite3_bind_int64(t, b+14, member);
                        sqlite3_bind_text(t, b+15, "money", 5, SQLITE_TRANSIENT); sqlite3_bind_text(t, b+16, "CNY", 3, SQLITE_TRANSIENT);
                        sqlite3_bind_int64(t, b+17, 2);
                        sqlite3_bind_int64(t, b+19, 1000 + (rng % 900)); sqlite3_bind_int64(t, b+20, seq);
                        sqlite3_bind_int64(t, b+21, 1); sqlite3_bind_int64(t, b+22, 1);
                        sqlite3_bind_int64(t, b+23, 1800086400000LL); sqlite3_bind_int64(t, b+24, 1800691200000LL);
                    }
                }
                run(e); run(t);
                i += rows;
            }
            run(commit);
        }
        double wall = (now(CLOCK_MONOTONIC) - w0) / entries, cpu = (now(CLOCK_PROCESS_CPUTIME_ID) - c0) / entries;
        if (wall < bestWall) bestWall = wall; if (cpu < bestCPU) bestCPU = cpu;
        sqlite3_finalize(begin); sqlite3_finalize(commit); sqlite3_finalize(ie); sqlite3_finalize(it); sqlite3_finalize(last); sqlite3_finalize(lastT); sqlite3_finalize(ieK); sqlite3_finalize(itK);
        sqlite3_close(db);
        char p2[64]; unlink(path); snprintf(p2, 64, "%s-wal", path); unlink(p2); snprintf(p2, 64, "%s-shm", path); unlink(p2);
    }
    printf("%-28s wall %7.0f ns/entry  cpu %7.0f ns/entry  [%s]\n", schema, bestWall, bestCPU, pragmas);
    return 0;
}

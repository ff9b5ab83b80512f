/* The stand-in claude of workers/standin.py, in C, for the Docker rows of
 * bench_concurrency.py: the tenant image has no Python. Same output (stream-json: init, the
 * message's stream events, the assistant line, the result line), same stamps
 * (`<start@ns>` once, `[k@ns]` per delta), same directive (`#standin:deltas=200,rate=50,
 * chars=24`), SIGINT answered with an `error_during_execution` result.
 * Built by bench/docker_standin.py: gcc -O2 -static -o standin-claude standin.c */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted = 0;
static void on_sigint(int sig) { (void)sig; interrupted = 1; }

static long long now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long process_start_ns(void) {
    FILE *f = fopen("/proc/self/stat", "r");
    char buf[4096];
    if (!f) return now_ns(CLOCK_REALTIME);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return now_ns(CLOCK_REALTIME);
    unsigned long long ticks = 0;
    int field = 2;  /* p points at the end of field 2 (comm) */
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        if (++field == 22) { ticks = strtoull(tok, NULL, 10); break; }
    }
    double since_boot = (double)ticks / (double)sysconf(_SC_CLK_TCK);
    double uptime = (double)now_ns(CLOCK_BOOTTIME) / 1e9;
    return now_ns(CLOCK_REALTIME) - (long long)((uptime - since_boot) * 1e9);
}

static double param(const char *prompt, const char *name, double fallback) {
    const char *d = strstr(prompt, "#standin:");
    if (!d) return fallback;
    char key[32];
    snprintf(key, sizeof key, "%s=", name);
    const char *at = strstr(d, key);
    return at ? atof(at + strlen(key)) : fallback;
}

static void event(const char *session, const char *message, const char *body) {
    printf("{\"type\":\"stream_event\",\"event\":%s,\"session_id\":\"%s\","
           "\"parent_tool_use_id\":null,\"api_message_id\":\"%s\"}\n", body, session, message);
    fflush(stdout);
}

static void result(const char *session, int sent, int aborted, long long started) {
    double cost = sent * 0.00001;
    long long ms = (now_ns(CLOCK_MONOTONIC) - started) / 1000000;
    printf("{\"type\":\"result\",\"subtype\":\"%s\",\"is_error\":%s,\"session_id\":\"%s\","
           "\"num_turns\":1,\"duration_ms\":%lld,\"result\":%s,\"total_cost_usd\":%.6f,"
           "\"terminal_reason\":\"%s\",\"api_error_status\":null,\"usage\":{\"input_tokens\":100,"
           "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":%d},"
           "\"modelUsage\":{\"claude-standin\":{\"inputTokens\":100,\"outputTokens\":%d,"
           "\"cacheReadInputTokens\":0,\"cacheCreationInputTokens\":0,\"costUSD\":%.6f}}}\n",
           aborted ? "error_during_execution" : "success", aborted ? "true" : "false", session,
           ms, aborted ? "null" : "\"(stand-in answer)\"", cost,
           aborted ? "aborted_streaming" : "completed", sent, sent, cost);
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *prompt = argc > 1 ? argv[argc - 1] : "";
    char session[64] = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) { puts("2.1.332 (stand-in)"); return 0; }
        if (strncmp(argv[i], "--resume=", 9) == 0) snprintf(session, sizeof session, "%s", argv[i] + 9);
        if (strcmp(argv[i], "--") == 0 && i + 1 < argc) prompt = argv[i + 1];
    }
    long long started = now_ns(CLOCK_MONOTONIC);
    long long start_ns = process_start_ns();
    srand((unsigned)(start_ns ^ getpid()));
    if (!session[0]) snprintf(session, sizeof session, "%08x-0000-4000-8000-%012x", rand(), rand());
    char message[48];
    snprintf(message, sizeof message, "msg_standin_%08x%08x", rand(), rand());
    int deltas = (int)param(prompt, "deltas", 200), chars = (int)param(prompt, "chars", 24);
    double rate = param(prompt, "rate", 50);
    signal(SIGINT, on_sigint);
    printf("{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"%s\",\"model\":"
           "\"claude-standin\",\"tools\":[\"Read\"],\"cwd\":\"/\"}\n", session);
    char body[8192], text[4096];
    snprintf(body, sizeof body, "{\"type\":\"message_start\",\"message\":{\"id\":\"%s\",\"type\":"
             "\"message\",\"role\":\"assistant\",\"model\":\"claude-standin\",\"content\":[],"
             "\"usage\":{\"input_tokens\":100,\"cache_creation_input_tokens\":0,"
             "\"cache_read_input_tokens\":0,\"output_tokens\":1}}}", message);
    event(session, message, body);
    event(session, message, "{\"type\":\"content_block_start\",\"index\":0,"
                            "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    long long pause = rate > 0 ? (long long)(1e9 / rate) : 0, next = now_ns(CLOCK_MONOTONIC);
    int sent = 0;
    for (int k = 0; k < deltas; k++) {
        if (interrupted) { result(session, sent, 1, started); return 130; }
        int len = 0;
        if (k == 0) len = snprintf(text, sizeof text, "<start@%lld>", start_ns);
        int stamp = snprintf(text + len, sizeof text - len, "[%d@%lld]", k, now_ns(CLOCK_REALTIME));
        len += stamp;
        for (int c = stamp; c < chars - 1 && len < (int)sizeof text - 2; c++) text[len++] = '.';
        text[len++] = ' ';
        text[len] = 0;
        snprintf(body, sizeof body, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                 "{\"type\":\"text_delta\",\"text\":\"%s\"}}", text);
        event(session, message, body);
        sent++;
        next += pause;
        long long wait = next - now_ns(CLOCK_MONOTONIC);
        if (wait > 0) {
            struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
            nanosleep(&ts, NULL);
        }
    }
    event(session, message, "{\"type\":\"content_block_stop\",\"index\":0}");
    snprintf(body, sizeof body, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
             "\"end_turn\"},\"usage\":{\"output_tokens\":%d}}", sent);
    event(session, message, body);
    event(session, message, "{\"type\":\"message_stop\"}");
    result(session, sent, interrupted, started);
    return interrupted ? 130 : 0;
}

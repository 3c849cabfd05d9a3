/* sync_mode: how durable the spool and the outputs make what they write (spool.sync), the
 * one setting the spool, the delivery engine and the config share. */
#ifndef LC_SYNC_MODE_H
#define LC_SYNC_MODE_H

enum lc_sync_mode {
    LC_SYNC_INTERVAL = 0, /* fdatasync every sync_interval (default) */
    LC_SYNC_ALWAYS,       /* fdatasync every append before outputs see it, and every ack */
    LC_SYNC_NEVER,        /* leave it to the kernel (a clean stop still syncs) */
};

#endif

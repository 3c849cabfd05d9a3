/* stub: being written */
typedef int lc_stub_docker;

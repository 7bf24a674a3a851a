"""The 利用申請 form, a LIFF app: a page opened inside LINE, served by the bot's own FastAPI app at /liff."""

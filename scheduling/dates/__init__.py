"""Days and moments in Japan: JST, public holidays, opening days and quiet hours; 和暦 and 年度."""

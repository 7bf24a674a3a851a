"""The city's configuration: the booking and pregnancy files, the rich menus, and the city file
(city_file.py) that names every file of the city and loads them together."""

# Warnings for every target of the project; -Werror in the developer presets.
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
                    -Wcast-align -Woverloaded-virtual -Wformat=2
                    -Wimplicit-fallthrough)
if(CSNAP_WERROR)
  add_compile_options(-Werror)
endif()

//! Each wire name written once: macros that declare an enum together with its wire names, so
//! that serde's tags, the schema (derived from serde's attributes), the list of known names and
//! `type_name()`/`as_str()` all come from one line per variant. A variant without a name does
//! not compile; a name cannot be listed without its variant.

/// A message enum tagged by `type`: each variant is `Variant { fields } = "ns/NAME"` (or a
/// tuple or unit variant). Generates the enum with `#[serde(rename = ..)]` on each variant,
/// `TYPES` (every wire type, in order) and `type_name()`.
macro_rules! wire_messages {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $( { $($fields:tt)* } )? $( ( $($tuple:tt)* ) )? = $wire:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $wire)]
                $variant $( { $($fields)* } )? $( ( $($tuple)* ) )?
            ),*
        }

        impl $name {
            /// Every wire `type` of these messages, in declaration order.
            pub const TYPES: &'static [&'static str] = &[$($wire),*];

            /// The wire `type` of this message.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $($name::$variant { .. } => $wire),*
                }
            }
        }
    };
}

/// A unit enum of wire names: each variant is `Variant = "name"`. Generates the enum with
/// `#[serde(rename = ..)]` on each variant, `ALL`, `as_str()` and `parse()`.
macro_rules! wire_names {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $wire:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $wire)]
                $variant
            ),*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),*
                }
            }

            /// Parses a wire name.
            pub fn parse(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

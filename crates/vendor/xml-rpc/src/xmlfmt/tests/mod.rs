mod de;
mod parsevalue;
mod ser;
